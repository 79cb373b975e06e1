// `frostnas export-model`: a trained model as INT8 TorchScript, BN-folded float
// TorchScript or QDQ ONNX, for LibTorch / PyTorch and onnxruntime.
#include <iostream>

#include "cli/command.h"
#include "common/atomic_write.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "export/model_export.h"
#include "export/onnx_export.h"

namespace frostnas::cli {
namespace {

int export_model(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("model", po::value<std::string>(), "training output or pipeline model directory (or its int8/)")
    ("format", po::value<std::string>()->default_value("torchscript"),
     ("export format: " + join_strings(export_format_names())).c_str())
    ("out", po::value<std::string>(), "output file (written through FILE.tmp and a rename)")
    ("json", po::bool_switch()->default_value(false), "print one JSON object");
  // clang-format on
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  const std::string model = require_positional(vm, "model", "--model DIR");
  const ExportFormat format = parse_export_format(vm["format"].as<std::string>(), "--format");
  const std::string out = require_positional(vm, "out", "--out FILE");

  const ExportSource source = load_export_source(model, format == ExportFormat::kTorchScriptFloat);
  const std::string bytes = export_bytes(source, format);
  atomic_write(out, bytes);

  nlohmann::json j{
      {"out", out},
      {"format", to_string(format)},
      {"bytes", bytes.size()},
      {"arch", source.int8->spec().name},
      {"engine",
       format == ExportFormat::kTorchScriptFloat ? "none" : to_string(source.int8->engine())}};
  std::string checked;
  if (format == ExportFormat::kOnnx) {
    const OnnxModelSummary s = check_onnx_model(bytes);
    j["opset"] = s.opset;
    j["nodes"] = s.nodes;
    j["op_types"] = s.op_types;
    checked = "; ONNX checker and strict shape inference passed: opset " + std::to_string(s.opset) +
              ", " + std::to_string(s.nodes) + " nodes (" + join_strings(s.op_types) + ")";
  }
  if (vm["json"].as<bool>()) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "wrote " << out << " (" << to_string(format) << ", " << bytes.size()
              << " bytes, engine " << j["engine"].get<std::string>() << checked << ")\n";
  }
  return 0;
}

const RegisterCommand kExportModel(
    {"export-model", "frostnas export-model --model DIR --format FORMAT --out FILE",
     "Export a trained model as INT8 TorchScript, float TorchScript or QDQ ONNX", export_model});

}  // namespace
}  // namespace frostnas::cli
