// The frostnas command line: finds the command, runs it, and turns every error
// into one line on stderr (exit 2 for bad input, 1 for internal failures).
#include <iostream>

#include <SQLiteCpp/Exception.h>
#include <c10/util/Exception.h>

#include "cli/command.h"
#include "common/error.h"
#include "common/json_reader.h"

namespace {

using frostnas::cli::Command;
using frostnas::cli::commands;

void print_help() {
  std::cout << "frostnas: quantization-aware neural architecture search (FrostNet)\n\n"
               "Usage: frostnas COMMAND [options]    (frostnas COMMAND --help for its options)\n\n"
               "Commands:\n";
  for (const auto& c : commands()) {
    std::cout << "  " << c.name << std::string(c.name.size() < 16 ? 16 - c.name.size() : 1, ' ')
              << c.summary << "\n";
  }
}

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const auto& c : commands()) names.push_back(c.name);
  return names;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_help();
    throw frostnas::InputError(
        "missing command (allowed: " + frostnas::join_strings(command_names()) + ")");
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return 0;
  }
  // Longest match first: "arch show" before "arch".
  for (size_t words = std::min<size_t>(2, args.size()); words >= 1; --words) {
    std::string name = args[0];
    for (size_t i = 1; i < words; ++i) name += " " + args[i];
    for (const auto& c : commands()) {
      if (c.name == name)
        return c.run(c, std::vector<std::string>(args.begin() + words, args.end()));
    }
  }
  std::vector<std::string> subs;
  for (const auto& c : commands()) {
    if (c.name.rfind(args[0] + " ", 0) == 0) subs.push_back(c.name.substr(args[0].size() + 1));
  }
  if (!subs.empty()) {
    const std::string what =
        args.size() > 1 ? "unknown subcommand \"" + args[1] + "\"" : "missing subcommand";
    throw frostnas::InputError("frostnas " + args[0] + ": " + what +
                               " (allowed: " + frostnas::join_strings(subs) + ")");
  }
  throw frostnas::InputError("unknown command \"" + args[0] +
                             "\" (allowed: " + frostnas::join_strings(command_names()) + ")");
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const frostnas::InputError& e) {
    std::cerr << "frostnas: error: " << first_line(e.what()) << "\n";
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "frostnas: error: " << first_line(e.what()) << "\n";
    return 2;
  } catch (const frostnas::EnvironmentError& e) {
    std::cerr << "frostnas: system error: " << first_line(e.what()) << "\n";
    return 1;
  } catch (const SQLite::Exception& e) {
    // The database could not be read or written (disk full, read-only, locked, I/O).
    std::cerr << "frostnas: system error: database: " << first_line(e.what()) << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "frostnas: internal error: " << first_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "frostnas: internal error: " << first_line(e.what()) << "\n";
    return 1;
  }
}
