// --weight-quant on the commands that train or time: a bad value is one line naming the
// flag and the allowed values, exit 2, before anything is written.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/common/cli_runner.h"

using frostnas::testing::expect_input_error;
using frostnas::testing::run_frostnas;
using frostnas::testing::source_path;

namespace {

namespace fs = std::filesystem;

const char* kAllowed =
    "--weight-quant: unknown value 'per_layer' (allowed: per_channel, per_tensor)";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("frostnas_wq_cli_" + name)).string();
}

}  // namespace

TEST(WeightQuantCli, BadValueIsOneLineExitTwoOnEveryCommand) {
  const std::string db = temp_path("db.sqlite");
  const std::string out = temp_path("train_out");
  fs::remove(db);
  fs::remove_all(out);
  expect_input_error(run_frostnas("train --arch frostnet-small-0.35 --data fashion-mnist --out " +
                                  out + " --weight-quant per_layer"),
                     kAllowed);
  expect_input_error(run_frostnas("search --config " + source_path("experiments/quickstart.json") +
                                  " --db " + db + " --weight-quant per_layer"),
                     kAllowed);
  expect_input_error(
      run_frostnas("cell-search --config " + source_path("experiments/cell_search.json") +
                   " --db " + db + " --weight-quant per_layer"),
      kAllowed);
  expect_input_error(
      run_frostnas("pipeline --config " + source_path("experiments/frostnet_repro.json") +
                   " --db " + db + " --weight-quant per_layer"),
      kAllowed);
  expect_input_error(run_frostnas("lut build --db " + db + " --weight-quant per_layer"), kAllowed);
  EXPECT_FALSE(fs::exists(db));
  EXPECT_FALSE(fs::exists(fs::path(out) / "metrics.json"));
  // A resumed search keeps its own configuration's scheme.
  expect_input_error(run_frostnas("search --resume 1 --db " + db + " --weight-quant per_tensor"),
                     "--weight-quant: give it with --config");
  EXPECT_FALSE(fs::exists(db));
}

TEST(WeightQuantCli, HelpNamesTheOption) {
  for (const char* cmd : {"train", "search", "cell-search", "pipeline", "lut build", "lut validate",
                          "lut time", "arch show"}) {
    const auto r = run_frostnas(std::string(cmd) + " --help");
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("--weight-quant"), std::string::npos) << cmd;
  }
}
