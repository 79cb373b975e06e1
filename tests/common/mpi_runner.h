#pragma once

// Runs frostnas under mpirun from tests (tests skip with a message where mpirun is missing).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/cli_runner.h"

namespace frostnas::testing {

/// mpirun as the tests start it: CI runs as root, which Open MPI refuses unless told, and
/// two cores hold three ranks.
inline const std::string kMpirun =
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
    "timeout 120 mpirun --oversubscribe --bind-to none";

/// Runs a shell command line, capturing both streams.
inline CliResult run_shell(const std::string& cmd) {
  const std::filesystem::path err =
      std::filesystem::temp_directory_path() / ("frostnas_mpi_err_" + std::to_string(::getpid()));
  CliResult r;
  FILE* pipe = ::popen((cmd + " 2>" + err.string()).c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(err);
  return r;
}

/// How many "frostnas: error: " lines `err` holds (every rank that fails prints one).
inline int frostnas_error_lines(const std::string& err) {
  int n = 0;
  size_t pos = 0;
  while ((pos = err.find("frostnas: error: ", pos)) != std::string::npos) {
    ++n;
    ++pos;
  }
  return n;
}

/// Why MPI tests cannot run here (mpirun missing), or empty.
inline std::string mpirun_missing() {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0)
    return "mpirun is missing (apt-get install openmpi-bin)";
  return "";
}

/// A suite that runs `frostnas <Derived::kCommand>` under mpirun against its serial run.
/// Derived gives `static constexpr const char* kCommand` and `static nlohmann::json
/// config_json(int64_t seed)`. The suite writes tiny.json (seed 3) and other.json (seed 4)
/// into a temporary directory and skips with a message where mpirun or frostnas's MPI
/// support is missing. The serial run of tiny.json, the reference, runs the first time a
/// test asks for it (serial()): ctest runs each test in its own process, and the tests of
/// bad input need none.
template <typename Derived>
class MpiCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() /
           ("frostnas_mpi_" + std::string(Derived::kCommand) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "tiny.json") << Derived::config_json(3).dump();
    std::ofstream(dir_ / "other.json") << Derived::config_json(4).dump();
    skip_ = mpirun_missing();
    if (!skip_.empty()) return;
    const CliResult probe = run_shell(command() + " --workers mpi --config " + config("tiny.json") +
                                      " --db " + db("probe"));
    if (probe.err.find("built without MPI") != std::string::npos)
      skip_ = "frostnas is built without MPI";
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  /// `FROSTNAS_BINARY <command>`.
  static std::string command() { return std::string(FROSTNAS_BINARY) + " " + Derived::kCommand; }
  static std::string config(const std::string& name) { return (dir_ / name).string(); }
  static std::string db(const std::string& name) { return (dir_ / (name + ".sqlite")).string(); }
  /// `env mpirun -np N frostnas <command> --quiet args`.
  static CliResult mpirun(const std::string& env, int np, const std::string& args) {
    return run_shell(env + " " + kMpirun + " -np " + std::to_string(np) + " " + command() +
                     " --quiet " + args);
  }
  /// The serial run of tiny.json into db("serial"), run on first use.
  static const CliResult& serial() {
    if (!serial_) {
      serial_ = run_shell(command() + " --workers serial --quiet --config " + config("tiny.json") +
                          " --db " + db("serial"));
    }
    return *serial_;
  }

  static inline std::filesystem::path dir_;
  static inline std::string skip_;
  static inline std::optional<CliResult> serial_;
};

}  // namespace frostnas::testing
