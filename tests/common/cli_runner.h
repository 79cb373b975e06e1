#pragma once

// Runs the frostnas binary from tests and checks the one-line error contract.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace frostnas::testing {

/// Exit status and both output streams of one frostnas run.
struct CliResult {
  int status = -1;  ///< exit status, -1 when killed by a signal
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs `FROSTNAS_BINARY args` (shell words), capturing stdout and stderr.
inline CliResult run_frostnas(const std::string& args) {
  const std::string err_file =
      (std::filesystem::temp_directory_path() / ("frostnas_cli_err_" + std::to_string(::getpid())))
          .string();
  const std::string cmd = std::string(FROSTNAS_BINARY) + " " + args + " 2>" + err_file;
  CliResult r;
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

/// Bad input: exit status 2 and exactly one stderr line "frostnas: error: ..." containing `needle`.
inline void expect_input_error(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("frostnas: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

/// A path inside the source tree.
inline std::string source_path(const std::string& rel) {
  return std::string(FROSTNAS_SOURCE_DIR) + "/" + rel;
}

}  // namespace frostnas::testing
