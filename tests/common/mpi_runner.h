#pragma once

// Runs frostnas under mpirun from tests (tests skip with a message where mpirun is missing).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

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

}  // namespace frostnas::testing
