#include "trainer/quant/qat_mode.h"

namespace frostnas {

void apply_qat_mode(torch::nn::Module& root, const QatMode& mode) {
  if (auto* t = dynamic_cast<QatModeTarget*>(&root)) t->set_qat_mode(mode);
  for (const auto& m : root.modules(/*include_self=*/false)) {
    if (auto* t = dynamic_cast<QatModeTarget*>(m.get())) t->set_qat_mode(mode);
  }
}

}  // namespace frostnas
