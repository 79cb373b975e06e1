#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "space/genotype.h"
#include "space/resolved_net.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_conv_bn_act.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Shape of a cell op: width c and feature-map side (stride is always 1).
struct CellOpOptions {
  CellOpOptions(int64_t channels, int64_t size) : channels_(channels), size_(size) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, size);
  TORCH_ARG(QuantEngine, engine) = QuantEngine::kOneDNN;
};

/// One candidate operation of a searched cell for quantization-aware training
/// (names and math: space/genotype.h `cell_op_names`). Fake quantization sits inside
/// every op wherever its INT8 counterpart requantizes, so a supernet edge and a derived
/// cell train the same numerics. The input is expected already fake-quantized.
/// Input [N, c, H, W] -> output [N, c, H, W].
class CellOpImpl : public torch::nn::Module {
 public:
  virtual ~CellOpImpl() = default;
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// The registry name ("skip", "dwconv_3x3", ...).
  virtual std::string name() const = 0;
  /// The convolutions of the op: equal to space's `cell_op_convs(name(), c, size)`.
  virtual std::vector<ConvLayer> convs() const = 0;
  /// How the op's weights were last fake-quantized (the QatMode's `weights`); ops
  /// without weights say per channel.
  virtual WeightQuant weight_quant() const { return WeightQuant::kPerChannel; }
};
using CellOpPtr = std::shared_ptr<CellOpImpl>;

/// Builds a candidate op by name. Throws InputError on an unknown name, listing the
/// known ones (cell_op_names()).
CellOpPtr make_cell_op(const std::string& name, const CellOpOptions& options);

}  // namespace frostnas
