#include "cli/command.h"

#include <algorithm>
#include <iostream>

#include "common/error.h"

namespace frostnas::cli {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

RegisterCommand::RegisterCommand(Command c) {
  // Kept sorted by the command's first word (static initialisation runs in link order, which
  // the build decides); subcommands stay in the order their file declares them.
  const auto group = [](const Command& x) { return x.name.substr(0, x.name.find(' ')); };
  auto& all = commands();
  const auto at =
      std::upper_bound(all.begin(), all.end(), c,
                       [&](const Command& a, const Command& b) { return group(a) < group(b); });
  all.insert(at, std::move(c));
}

bool parse_args(const Command& command, const std::vector<std::string>& args,
                po::options_description& options,
                const po::positional_options_description& positional, po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: " << command.usage << "\n" << command.summary << "\n\n" << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

std::string require_positional(const po::variables_map& vm, const std::string& name,
                               const std::string& what) {
  if (!vm.count(name)) throw InputError("missing " + what + " (see --help)");
  return vm[name].as<std::string>();
}

void add_weight_quant_option(po::options_description& options) {
  options.add_options()("weight-quant", po::value<std::string>(),
                        "INT8 weights: per_channel or per_tensor (QNNPACK configuration of the "
                        "FrostNet paper); default: the configuration's (per_channel)");
}

std::optional<WeightQuant> weight_quant_option(const po::variables_map& vm) {
  if (!vm.count("weight-quant")) return std::nullopt;
  return parse_weight_quant(vm["weight-quant"].as<std::string>(), "--weight-quant");
}

}  // namespace frostnas::cli
