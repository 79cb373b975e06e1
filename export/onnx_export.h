#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trainer/int8/int8_net.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas {

/// ONNX opset of the exports (QuantizeLinear / DequantizeLinear with per-axis scales).
constexpr int64_t kOnnxOpset = 13;

/// The INT8 network as a serialized ONNX ModelProto in QDQ form, built with libonnx:
/// - input "input": float [N, C, H, W] (normalised as input.json says), N symbolic;
///   output "logits": float [N, num_classes];
/// - every quantized activation is QuantizeLinear -> DequantizeLinear (uint8, the
///   INT8 model's scale and zero point), every weight an int8 initializer with
///   per-channel scales and zero point 0 -> DequantizeLinear(axis 0) (per-tensor weights:
///   one scalar scale and zero point, no axis), every conv bias an int32 initializer at
///   scale input_scale * weight_scale -> DequantizeLinear;
/// - float ops between them: Conv (+ Relu), Concat, Add, Mul, Sigmoid, MaxPool,
///   AveragePool (padding not counted), GlobalAveragePool, Flatten.
/// metadata_props carry the architecture JSON ("frostnas.arch"), the engine
/// ("frostnas.engine"), the weight scheme ("frostnas.weight_quant": per_channel or
/// per_tensor) and input.json ("frostnas.input"). Checked with
/// check_onnx_model before it is returned.
std::string int8_onnx_bytes(const Int8Net& net, const InputInfo& input);

/// What check_onnx_model found.
struct OnnxModelSummary {
  int64_t opset = 0;
  int64_t nodes = 0;
  /// The op types used, sorted, each once.
  std::vector<std::string> op_types;
  /// The output's shape after shape inference ("N" for the symbolic batch).
  std::vector<std::string> output_shape;
  /// Where the graph leaves QDQ form (empty for an export): a float op reading a tensor
  /// that is not a DequantizeLinear output (Relu: not a Conv output), a float op output
  /// not going straight into QuantizeLinear (or Relu), a QuantizeLinear zero point that is
  /// not uint8, a DequantizeLinear of an initializer that is not int8 / int32 with zero
  /// points 0.
  std::vector<std::string> qdq_errors;
  /// metadata_props by key.
  std::map<std::string, std::string> metadata;
  /// DequantizeLinear nodes of int8 weights: with per-channel scales (a 1-D scale and an
  /// axis) and with one scalar scale.
  int64_t per_channel_weights = 0;
  int64_t per_tensor_weights = 0;
};

/// Parses a serialized ModelProto, runs onnx::checker::check_model and strict shape
/// inference (type checks on, node errors thrown: what Python's full_check does).
/// Throws std::runtime_error with the checker's first line when the model is invalid.
OnnxModelSummary check_onnx_model(const std::string& bytes);

}  // namespace frostnas
