#pragma once

#include <string>
#include <vector>

namespace frostnas::cli {

/// Runs `argv` (argv[0] is the executable path; no shell) and returns its stdout. Its
/// stderr goes to ours. Throws std::runtime_error when it cannot start or does not exit
/// with status 0.
std::string run_capture(const std::vector<std::string>& argv);

/// This executable's path (/proc/self/exe), for running its own subcommands.
std::string self_executable();

}  // namespace frostnas::cli
