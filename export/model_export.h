#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trainer/int8/folded_fp32.h"
#include "trainer/int8/int8_net.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas {

/// The deployment formats of `frostnas export-model`.
/// - kTorchScript: INT8 TorchScript (LibTorch's quantized ops, packed weights);
/// - kTorchScriptFloat: FP32 TorchScript with BN folded (for quantizing elsewhere);
/// - kOnnx: ONNX in QDQ form (opset 13), INT8 weights and activations.
enum class ExportFormat { kTorchScript, kTorchScriptFloat, kOnnx };

/// "torchscript", "torchscript-float" or "onnx".
std::string to_string(ExportFormat format);
/// Allowed names, in the order of the enum.
std::vector<std::string> export_format_names();
/// Throws InputError naming `field` and the allowed names.
ExportFormat parse_export_format(const std::string& name, const std::string& field = "format");

/// The cell ops (space/genotype.h) every format maps; a genotype naming another op is
/// refused by refuse_cell_op.
const std::vector<std::string>& exportable_cell_ops();
/// Throws InputError "cell op '<op>' has no <format> mapping (mapped: ...)".
[[noreturn]] void refuse_cell_op(const std::string& op, ExportFormat format);

/// A trained model as the exports need it.
struct ExportSource {
  std::shared_ptr<const Int8Net> int8;
  /// The BN-folded float network (null when the directory has no float checkpoint).
  std::shared_ptr<const FoldedNet> fp32;
  /// How images become the network's input (normalisation, resize, channels).
  InputInfo input;
};

/// File names inside a training or pipeline model directory.
constexpr const char* kPipelineQatFile = "qat.pt";
constexpr const char* kTorchScriptInt8File = "model_int8.pt";
constexpr const char* kTorchScriptFloatFile = "model_fp32.pt";
constexpr const char* kOnnxFile = "model_int8.onnx";

/// Reads a model directory written by `frostnas train` (int8/, input.json,
/// qat_checkpoint.pt) or by the pipeline (int8/, input.json, qat.pt). The float network
/// is loaded only when `with_float`. Throws InputError naming the directory and the
/// missing file when it holds no trained model.
ExportSource load_export_source(const std::string& dir, bool with_float);

/// The bytes of the export of `source` in `format` (InputError naming the op or the
/// missing float network when it cannot be exported).
std::string export_bytes(const ExportSource& source, ExportFormat format);

/// Writes every export `source` allows into `dir` (kTorchScriptInt8File, kOnnxFile and,
/// with a float network, kTorchScriptFloatFile). Returns the paths written.
std::vector<std::string> save_model_exports(const ExportSource& source, const std::string& dir);

}  // namespace frostnas
