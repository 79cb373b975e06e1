#include "export/model_export.h"

#include <filesystem>

#include "common/atomic_write.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "export/onnx_export.h"
#include "export/torchscript_export.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"

namespace frostnas {

namespace fs = std::filesystem;

std::string to_string(ExportFormat format) {
  return export_format_names().at(static_cast<size_t>(format));
}

std::vector<std::string> export_format_names() {
  return {"torchscript", "torchscript-float", "onnx"};
}

ExportFormat parse_export_format(const std::string& name, const std::string& field) {
  const auto names = export_format_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<ExportFormat>(i);
  throw InputError(field + ": unknown value '" + name + "' (allowed: " + join_strings(names) + ")");
}

const std::vector<std::string>& exportable_cell_ops() {
  static const std::vector<std::string> ops{
      "skip", "max_pool_3x3", "avg_pool_3x3", "conv_1x1", "dwconv_3x3", "dwconv_5x5", "se"};
  return ops;
}

void refuse_cell_op(const std::string& op, ExportFormat format) {
  throw InputError("cell op '" + op + "' has no " + to_string(format) +
                   " mapping (mapped: " + join_strings(exportable_cell_ops()) + ")");
}

ExportSource load_export_source(const std::string& dir, bool with_float) {
  if (!fs::is_directory(dir)) throw InputError(dir + ": no such directory");
  // A training / pipeline model directory, or its int8/ artifact (as `frostnas eval`).
  fs::path model_dir(dir);
  fs::path int8_dir = model_dir / kInt8Dir;
  if (!fs::exists(int8_dir / kInt8ModelJson) && fs::exists(model_dir / kInt8ModelJson)) {
    int8_dir = model_dir;
    model_dir = model_dir.parent_path();
  }
  if (!fs::exists(int8_dir / kInt8ModelJson))
    throw InputError(dir + ": holds no trained model (" + kInt8Dir + "/" + kInt8ModelJson +
                     " missing; export a `frostnas train` output or a pipeline model directory)");
  ExportSource source;
  source.int8 = std::make_shared<const Int8Net>(load_int8_model(int8_dir.string()));
  if (!fs::exists(model_dir / kInputFile))
    throw InputError((model_dir / kInputFile).string() +
                     ": missing (the input normalisation the exports carry)");
  source.input = load_input_info(model_dir.string());
  if (with_float) {
    fs::path checkpoint = model_dir / kQatCheckpointFile;
    if (!fs::exists(checkpoint)) checkpoint = model_dir / kPipelineQatFile;
    if (!fs::exists(checkpoint))
      throw InputError(model_dir.string() + ": no float checkpoint (" + kQatCheckpointFile +
                       " or " + kPipelineQatFile + ") for the float export");
    QatNet qat = load_qat_checkpoint(checkpoint.string());
    qat->eval();
    source.fp32 = std::make_shared<const FoldedNet>(fold_to_fp32(*qat));
  }
  return source;
}

std::string export_bytes(const ExportSource& source, ExportFormat format) {
  switch (format) {
    case ExportFormat::kTorchScript:
      return int8_torchscript_bytes(*source.int8, source.input);
    case ExportFormat::kTorchScriptFloat:
      if (!source.fp32) throw InputError("torchscript-float: the model has no float network");
      return float_torchscript_bytes(*source.fp32, source.input);
    case ExportFormat::kOnnx:
      return int8_onnx_bytes(*source.int8, source.input);
  }
  throw InputError("unknown export format");
}

std::vector<std::string> save_model_exports(const ExportSource& source, const std::string& dir) {
  std::vector<std::pair<ExportFormat, const char*>> files{
      {ExportFormat::kTorchScript, kTorchScriptInt8File}, {ExportFormat::kOnnx, kOnnxFile}};
  if (source.fp32) files.emplace_back(ExportFormat::kTorchScriptFloat, kTorchScriptFloatFile);
  std::vector<std::string> written;
  for (const auto& [format, name] : files) {
    const std::string path = (fs::path(dir) / name).string();
    atomic_write(path, export_bytes(source, format));
    written.push_back(path);
  }
  return written;
}

}  // namespace frostnas
