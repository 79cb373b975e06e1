#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "trainer/quant/quant_engine.h"

namespace frostnas::cli {

namespace po = boost::program_options;

/// One `frostnas` command ("arch show", "train", ...): its summary and handler.
/// The handler gets itself (for --help) and the arguments after the command words,
/// and returns the exit status.
struct Command {
  std::string name;
  std::string usage;    ///< e.g. "frostnas arch show ARCH [options]"
  std::string summary;  ///< one line for `frostnas --help`
  std::function<int(const struct Command&, const std::vector<std::string>&)> run;
};

/// The command registry, sorted by first word (subcommands in declaration order); commands
/// register themselves from their source files.
std::vector<Command>& commands();
/// Registers a command at static-initialisation time.
struct RegisterCommand {
  explicit RegisterCommand(Command c);
};

/// Parses `args` against `options` (and positionals). Returns false when --help
/// was given (the help has been printed: the command should return 0).
/// Throws po::error on bad options.
bool parse_args(const Command& command, const std::vector<std::string>& args,
                po::options_description& options,
                const po::positional_options_description& positional, po::variables_map& vm);

/// Throws InputError("<option>: <message>") for a required positional missing.
std::string require_positional(const po::variables_map& vm, const std::string& name,
                               const std::string& what);

/// Adds `--weight-quant per_channel|per_tensor` (no default: the configuration's stays).
void add_weight_quant_option(po::options_description& options);
/// The value of --weight-quant when given; throws InputError naming the flag and the
/// allowed values on another one.
std::optional<WeightQuant> weight_quant_option(const po::variables_map& vm);

}  // namespace frostnas::cli
