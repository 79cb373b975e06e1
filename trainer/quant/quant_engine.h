#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace frostnas {

/// The INT8 kernel library a model is trained for and run with.
/// - kOneDNN: activations use 0..127 (oneDNN overflows with full 8-bit activations on
///   CPUs without VNNI, docs/frostnet.md, "LibTorch runtime notes"); the default.
/// - kQNNPACK: activations use the full 0..255.
enum class QuantEngine { kOneDNN, kQNNPACK };

/// "onednn" or "qnnpack".
std::string to_string(QuantEngine engine);
/// Allowed names: "onednn", "qnnpack".
std::vector<std::string> quant_engine_names();
/// Parses an engine name; throws InputError listing the allowed names. `field`
/// prefixes the message (e.g. "--engine" or "model.json: engine").
QuantEngine parse_quant_engine(const std::string& name, const std::string& field = "engine");
/// The ATen quantized engine of `engine`.
at::QEngine to_qengine(QuantEngine engine);
/// Whether this LibTorch build has the engine.
bool quant_engine_available(QuantEngine engine);

/// Largest activation code the observers use for `engine`: 127 (oneDNN) or 255 (QNNPACK).
int64_t activation_quant_max(QuantEngine engine);
/// Activations are quint8: every INT8 op saturates its output to 0..255.
constexpr int64_t kActivationDtypeMin = 0;
constexpr int64_t kActivationDtypeMax = 255;
/// Weights: symmetric qint8 restricted to -127..127 (scale = max|w| / 127 per channel or
/// per tensor, zero point 0), so that the largest weight is represented exactly.
constexpr int64_t kWeightQuantMin = -127;
constexpr int64_t kWeightQuantMax = 127;

/// How weights are quantized (both symmetric qint8 with codes -127..127, zero point 0):
/// - kPerChannel: one scale per output channel, max|w_c| / 127 (the default; what
///   PyTorch's default QAT qconfig does);
/// - kPerTensor: one scale for the whole (BN-folded) weight, max|w| / 127 (the QNNPACK
///   configuration of the FrostNet paper). A channel with small weights then gets few
///   codes, which costs depthwise convolutions and squeeze-and-excitation most.
enum class WeightQuant { kPerChannel, kPerTensor };

/// "per_channel" or "per_tensor".
std::string to_string(WeightQuant weights);
/// Allowed names: "per_channel", "per_tensor".
std::vector<std::string> weight_quant_names();
/// Parses a weight scheme name; throws InputError "<field>: unknown value 'x' (allowed:
/// per_channel, per_tensor)".
WeightQuant parse_weight_quant(const std::string& name, const std::string& field = "weight_quant");

/// Per-tensor affine quantization parameters of an activation (quint8).
struct QParams {
  double scale = 1.0;
  int64_t zero_point = 0;
  bool operator==(const QParams& o) const { return scale == o.scale && zero_point == o.zero_point; }
};

/// Sets the global ATen quantized engine for its lifetime and restores the previous one.
/// Weights must be packed and run under the same engine.
class QEngineGuard {
 public:
  explicit QEngineGuard(QuantEngine engine);
  ~QEngineGuard();
  QEngineGuard(const QEngineGuard&) = delete;
  QEngineGuard& operator=(const QEngineGuard&) = delete;

 private:
  at::QEngine previous_;
};

}  // namespace frostnas
