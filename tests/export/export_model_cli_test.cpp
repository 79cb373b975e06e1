#include <gtest/gtest.h>

#include <filesystem>

#include "tests/common/cli_runner.h"
#include "tests/export/export_fixtures.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

namespace fs = std::filesystem;

/// A trained model directory shared by the tests of this file, removed at exit.
const std::string& model_dir() {
  struct TempModel {
    std::string dir = export_temp_dir("cli_model");
    TempModel() {
      QatNet qat = trained_export_net(QuantEngine::kOneDNN, 90);
      write_model_dir(*qat, dir);
    }
    ~TempModel() { fs::remove_all(dir); }
  };
  static const TempModel model;
  return model.dir;
}

}  // namespace

TEST(ExportModelCli, WritesEveryFormat) {
  const std::string out = export_temp_dir("cli_out");
  for (const std::string format : {"torchscript", "torchscript-float", "onnx"}) {
    const std::string file = (fs::path(out) / ("m-" + format)).string();
    const CliResult r = run_frostnas("export-model --model " + model_dir() + " --format " + format +
                                     " --out " + file);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(fs::file_size(file) > 1000) << format;
    EXPECT_FALSE(fs::exists(file + ".tmp"));
    EXPECT_NE(r.out.find("wrote " + file), std::string::npos) << r.out;
  }
  // The int8/ artifact directory itself is accepted too, as by `frostnas eval`.
  const CliResult r = run_frostnas("export-model --model " + model_dir() + "/int8 --format onnx" +
                                   " --out " + out + "/again.onnx --json");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"opset\": 13"), std::string::npos) << r.out;
  fs::remove_all(out);
}

TEST(ExportModelCli, BadInputIsOneLineAndWritesNothing) {
  const std::string out = export_temp_dir("cli_bad");
  const std::string file = out + "/m.pt";
  expect_input_error(run_frostnas("export-model --model " + out + " --out " + file),
                     out + ": holds no trained model");
  expect_input_error(run_frostnas("export-model --model /nonexistent/dir --out " + file),
                     "/nonexistent/dir: no such directory");
  expect_input_error(
      run_frostnas("export-model --model " + model_dir() + " --format tflite --out " + file),
      "--format: unknown value 'tflite' (allowed: torchscript, torchscript-float, onnx)");
  expect_input_error(run_frostnas("export-model --model " + model_dir()), "--out FILE");
  expect_input_error(
      run_frostnas("export-model --model " + model_dir() + " --out " + out + "/no/such/m.pt"),
      out + "/no/such/m.pt: cannot write file (No such file or directory)");
  expect_input_error(run_frostnas("export-model --model " + model_dir() + " --out " + out),
                     out + ": cannot write file (Is a directory)");
  EXPECT_TRUE(fs::is_empty(out));

  // Without the float checkpoint: the INT8 formats work, the float one names the file.
  const std::string partial = export_temp_dir("cli_partial");
  fs::copy(model_dir(), partial, fs::copy_options::recursive);
  fs::remove(fs::path(partial) / kQatCheckpointFile);
  expect_input_error(
      run_frostnas("export-model --model " + partial + " --format torchscript-float --out " + file),
      "no float checkpoint (qat_checkpoint.pt or qat.pt)");
  EXPECT_EQ(run_frostnas("export-model --model " + partial + " --out " + file).status, 0);
  fs::remove(fs::path(partial) / kInputFile);
  expect_input_error(run_frostnas("export-model --model " + partial + " --out " + file),
                     "input.json: missing");
  fs::remove_all(partial);
  fs::remove_all(out);
}
