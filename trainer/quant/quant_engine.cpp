#include "trainer/quant/quant_engine.h"

#include <algorithm>

#include "common/error.h"

namespace frostnas {

std::string to_string(QuantEngine engine) {
  return engine == QuantEngine::kQNNPACK ? "qnnpack" : "onednn";
}

std::vector<std::string> quant_engine_names() { return {"onednn", "qnnpack"}; }

QuantEngine parse_quant_engine(const std::string& name, const std::string& field) {
  if (name == "onednn") return QuantEngine::kOneDNN;
  if (name == "qnnpack") return QuantEngine::kQNNPACK;
  throw InputError(field + ": unknown quantization engine '" + name +
                   "' (allowed: onednn, qnnpack)");
}

std::string to_string(WeightQuant weights) {
  return weights == WeightQuant::kPerTensor ? "per_tensor" : "per_channel";
}

std::vector<std::string> weight_quant_names() { return {"per_channel", "per_tensor"}; }

WeightQuant parse_weight_quant(const std::string& name, const std::string& field) {
  if (name == "per_channel") return WeightQuant::kPerChannel;
  if (name == "per_tensor") return WeightQuant::kPerTensor;
  throw InputError(field + ": unknown value '" + name + "' (allowed: per_channel, per_tensor)");
}

at::QEngine to_qengine(QuantEngine engine) {
  return engine == QuantEngine::kQNNPACK ? at::QEngine::QNNPACK : at::QEngine::ONEDNN;
}

bool quant_engine_available(QuantEngine engine) {
  const auto& engines = at::globalContext().supportedQEngines();
  return std::find(engines.begin(), engines.end(), to_qengine(engine)) != engines.end();
}

int64_t activation_quant_max(QuantEngine engine) {
  return engine == QuantEngine::kQNNPACK ? 255 : 127;
}

QEngineGuard::QEngineGuard(QuantEngine engine) : previous_(at::globalContext().qEngine()) {
  const at::QEngine wanted = to_qengine(engine);
  if (previous_ != wanted) at::globalContext().setQEngine(wanted);
}

QEngineGuard::~QEngineGuard() {
  if (at::globalContext().qEngine() != previous_) at::globalContext().setQEngine(previous_);
}

}  // namespace frostnas
