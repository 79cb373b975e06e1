#pragma once

// Helpers shared by the benchmarks (each bench/*.cpp is its own executable).
#include <fstream>
#include <iostream>
#include <string>

#include <boost/program_options.hpp>

namespace frostnas::bench {

/// The 1, 5 and 15 minute load averages of /proc/loadavg ("unknown" when unreadable):
/// printed with every measurement, since figures are only trustworthy on an idle machine.
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a.empty() ? "unknown" : a + " " + b + " " + c;
}

/// Parses the command line into `vm` (required options checked). On --help prints
/// `options` and returns false: the caller exits with status 0.
inline bool parse_args(int argc, char** argv,
                       const boost::program_options::options_description& options,
                       boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (vm.count("help")) {
    std::cout << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace frostnas::bench
