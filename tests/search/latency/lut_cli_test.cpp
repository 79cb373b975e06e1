#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/common/cli_runner.h"

#include "tests/search/latency/lut_test_util.h"

using frostnas::testing::CliResult;
using frostnas::testing::expect_input_error;
using frostnas::testing::run_frostnas;

namespace {

std::string src(const std::string& rel) { return frostnas::testing::source_path(rel); }

class LutCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(FROSTNAS_BINARY))
      GTEST_SKIP() << "frostnas binary not built: " << FROSTNAS_BINARY;
  }
};

TEST_F(LutCli, BadInputIsOneLineExitTwo) {
  frostnas::lut_testing::TempDir dir;
  const std::string db = dir.file("db.sqlite");
  const std::string proxy = src("experiments/spaces/proxy.json");
  expect_input_error(
      run_frostnas("lut build --space " + proxy + " --db " + db + " --engine fbgemm"),
      "--engine: unknown");
  expect_input_error(run_frostnas("lut build --space " + proxy + " --db " + db + " --threads 0"),
                     "--threads: 0 is out of range");
  expect_input_error(run_frostnas("lut build --db " + db), "missing --space");
  expect_input_error(run_frostnas("lut build --space " + proxy), "missing --db");
  expect_input_error(run_frostnas("lut build --space " + dir.file("none.json") + " --db " + db),
                     "none.json");
  std::ofstream(dir.file("bad.json")) << "{\"format\": \"frostnas.space/1\", \"stages\": 3}";
  expect_input_error(run_frostnas("lut build --space " + dir.file("bad.json") + " --db " + db),
                     "bad.json");
  EXPECT_FALSE(std::filesystem::exists(db));  // nothing created on bad input
  expect_input_error(run_frostnas("lut show --db " + db), "no such file");
  expect_input_error(run_frostnas("lut validate --space " + proxy + " --db " + db + " --samples 3"),
                     "no such file");
  expect_input_error(run_frostnas("lut validate --space " + proxy + " --db " + db), "--samples");
  expect_input_error(
      run_frostnas("lut validate --space " + proxy + " --db " + db + " --samples 3 --group 0"),
      "--group: 0 is out of range");
  expect_input_error(run_frostnas("lut validate --space " + proxy + " --db " + db +
                                  " --samples 3 --recalibrate -2"),
                     "--recalibrate: -2 is out of range");
  expect_input_error(run_frostnas("arch show frostnet-small-1.0 --latency"), "--db");
  expect_input_error(run_frostnas("arch show frostnet-small-1.0 --latency --db " + db),
                     "no such file");
}

TEST_F(LutCli, ShowAndArchShowWithoutATableForThisMachine) {
  frostnas::lut_testing::TempDir dir;
  const std::string db = dir.file("db.sqlite");
  // An empty database: show lists nothing, arch show explains what to build.
  {
    const CliResult r = run_frostnas("lut show --db " + db + " --json");
    EXPECT_EQ(r.status, 2);  // missing file
  }
  std::ofstream(db).close();  // empty file: a valid new store
  const CliResult show = run_frostnas("lut show --db " + db);
  EXPECT_EQ(show.status, 0) << show.err;
  expect_input_error(run_frostnas("arch show frostnet-small-1.0 --latency --db " + db),
                     "no latency table for this machine");
}

}  // namespace
