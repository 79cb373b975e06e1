#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/search/latency/lut_test_util.h"

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

Result frostnas(const std::string& args) {
  const std::string err_file = std::filesystem::path(::testing::TempDir()) /
                               ("frostnas_lut_cli_err_" + std::to_string(::getpid()));
  const std::string cmd = std::string(FROSTNAS_BINARY) + " " + args + " 2>" + err_file;
  Result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(err_file);
  return r;
}

std::string src(const std::string& rel) { return std::string(FROSTNAS_SOURCE_DIR) + "/" + rel; }

void expect_input_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("frostnas: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

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
  expect_input_error(frostnas("lut build --space " + proxy + " --db " + db + " --engine fbgemm"),
                     "--engine: unknown");
  expect_input_error(frostnas("lut build --space " + proxy + " --db " + db + " --threads 0"),
                     "--threads: 0 is out of range");
  expect_input_error(frostnas("lut build --db " + db), "missing --space");
  expect_input_error(frostnas("lut build --space " + proxy), "missing --db");
  expect_input_error(frostnas("lut build --space " + dir.file("none.json") + " --db " + db),
                     "none.json");
  std::ofstream(dir.file("bad.json")) << "{\"format\": \"frostnas.space/1\", \"stages\": 3}";
  expect_input_error(frostnas("lut build --space " + dir.file("bad.json") + " --db " + db),
                     "bad.json");
  EXPECT_FALSE(std::filesystem::exists(db));  // nothing created on bad input
  expect_input_error(frostnas("lut show --db " + db), "no such file");
  expect_input_error(frostnas("lut validate --space " + proxy + " --db " + db + " --samples 3"),
                     "no such file");
  expect_input_error(frostnas("lut validate --space " + proxy + " --db " + db), "--samples");
  expect_input_error(frostnas("arch show frostnet-small-1.0 --latency"), "--db");
  expect_input_error(frostnas("arch show frostnet-small-1.0 --latency --db " + db), "no such file");
}

TEST_F(LutCli, ShowAndArchShowWithoutATableForThisMachine) {
  frostnas::lut_testing::TempDir dir;
  const std::string db = dir.file("db.sqlite");
  // An empty database: show lists nothing, arch show explains what to build.
  {
    const Result r = frostnas("lut show --db " + db + " --json");
    EXPECT_EQ(r.status, 2);  // missing file
  }
  std::ofstream(db).close();  // empty file: a valid new store
  const Result show = frostnas("lut show --db " + db);
  EXPECT_EQ(show.status, 0) << show.err;
  expect_input_error(frostnas("arch show frostnet-small-1.0 --latency --db " + db),
                     "no latency table for this machine");
}

}  // namespace
