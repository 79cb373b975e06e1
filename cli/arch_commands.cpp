// `frostnas arch list|show|sample` and `frostnas space show`.
#include <iostream>

#include "cli/command.h"
#include "common/error.h"
#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "space/arch_report.h"
#include "space/builtin_archs.h"
#include "space/search_space.h"

namespace frostnas::cli {
namespace {

int arch_list(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  for (const auto& name : builtin_arch_names()) {
    const ResolvedNet r = resolve(builtin_arch(name));
    std::printf("%-22s %12s params %9.1f M MACs\n", name.c_str(), format_count(r.params()).c_str(),
                r.macs() / 1e6);
  }
  return 0;
}

int arch_show(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("arch", po::value<std::string>(), "built-in name or JSON file")(
      "input-size", po::value<int64_t>(), "override the input side (default: the architecture's)")(
      "in-channels", po::value<int64_t>(), "override the input channels")(
      "classes", po::value<int64_t>(), "override the number of classes")(
      "json", po::bool_switch()->default_value(false), "print one JSON object")(
      "latency", po::bool_switch()->default_value(false),
      "add the INT8 and FP32 latency predicted by the table in --db")(
      "db", po::value<std::string>(), "experiment database holding the latency table")(
      "engine", po::value<std::string>()->default_value("onednn"),
      "latency table of this INT8 engine: onednn or qnnpack")(
      "threads", po::value<int64_t>()->default_value(1), "latency table of this thread count")(
      "weight-quant", po::value<std::string>()->default_value("per_channel"),
      "latency entries of this INT8 weight scheme: per_channel or per_tensor");
  po::positional_options_description positional;
  positional.add("arch", 1);
  po::variables_map vm;
  if (!parse_args(self, args, options, positional, vm)) return 0;
  const bool latency = vm["latency"].as<bool>();
  if (latency && !vm.count("db")) throw InputError("--latency: missing --db FILE");
  NetSpec net = load_arch(require_positional(vm, "arch", "ARCH (a built-in name or a JSON file)"));
  auto check = [](const char* option, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) {
      throw InputError(std::string("--") + option + ": " + std::to_string(v) +
                       " is out of range (allowed: " + std::to_string(lo) + ".." +
                       std::to_string(hi) + ")");
    }
    return v;
  };
  if (vm.count("input-size"))
    net.input_size = check("input-size", vm["input-size"].as<int64_t>(), 8, 1024);
  if (vm.count("in-channels"))
    net.in_channels = check("in-channels", vm["in-channels"].as<int64_t>(), 1, 64);
  if (vm.count("classes"))
    net.num_classes = check("classes", vm["classes"].as<int64_t>(), 2, 100000);
  validate(net, "command line");
  const ResolvedNet r = resolve(net);
  nlohmann::json lat;
  if (latency) {
    const QuantEngine engine = parse_quant_engine(vm["engine"].as<std::string>(), "--engine");
    const int64_t threads = check("threads", vm["threads"].as<int64_t>(), 1, 256);
    const std::string db = vm["db"].as<std::string>();
    const WeightQuant weights =
        parse_weight_quant(vm["weight-quant"].as<std::string>(), "--weight-quant");
    const MachineTable mt = open_machine_table(db, engine, threads);
    const double int8 =
        TableLatencyModel(mt.table, Precision::kInt8, true, weights).predict_ms(net);
    const double fp32 =
        TableLatencyModel(mt.table, Precision::kFP32, true, weights).predict_ms(net);
    lat = {{"int8_ms", int8},
           {"fp32_ms", fp32},
           {"engine", to_string(engine)},
           {"weight_quant", to_string(weights)},
           {"threads", threads},
           {"db", db},
           {"fingerprint", mt.fingerprint.id}};
  }
  if (vm["json"].as<bool>()) {
    nlohmann::json j = describe_json(r);
    if (latency) j["latency"] = lat;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << describe(r);
    if (latency) {
      std::printf(
          "predicted latency (%s, %lld thread(s), batch 1): INT8 %.3f ms, FP32 %.3f ms "
          "(INT8 %+.1f%%)\n",
          lat["engine"].get<std::string>().c_str(),
          static_cast<long long>(lat["threads"].get<int64_t>()), lat["int8_ms"].get<double>(),
          lat["fp32_ms"].get<double>(),
          100.0 * (lat["int8_ms"].get<double>() / lat["fp32_ms"].get<double>() - 1.0));
    }
  }
  return 0;
}

int arch_sample(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("space", po::value<std::string>(), "frostnas.space/1 JSON file")(
      "seed", po::value<int64_t>()->default_value(0), "random seed (>= 0)")(
      "out", po::value<std::string>(), "write the architecture JSON here (default: stdout)");
  po::positional_options_description positional;
  positional.add("space", 1);
  po::variables_map vm;
  if (!parse_args(self, args, options, positional, vm)) return 0;
  const SearchSpace space = load_search_space(require_positional(vm, "space", "SPACE.json"));
  const int64_t seed = vm["seed"].as<int64_t>();
  if (seed < 0)
    throw InputError("--seed: " + std::to_string(seed) + " is out of range (allowed: >= 0)");
  const NetSpec net = sample(space, static_cast<uint64_t>(seed));
  if (vm.count("out")) {
    const std::string out = vm["out"].as<std::string>();
    save_net_spec(net, out);
    const ResolvedNet r = resolve(net);
    std::cout << "wrote " << out << ": " << net.name << ", " << format_count(r.params())
              << " parameters, " << r.macs() / 1e6 << " M MACs\n";
  } else {
    std::cout << to_json(net).dump(2) << "\n";
  }
  return 0;
}

int space_show(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("space", po::value<std::string>(), "frostnas.space/1 JSON file")(
      "json", po::bool_switch()->default_value(false), "print one JSON object");
  po::positional_options_description positional;
  positional.add("space", 1);
  po::variables_map vm;
  if (!parse_args(self, args, options, positional, vm)) return 0;
  const SearchSpace space = load_search_space(require_positional(vm, "space", "SPACE.json"));
  if (vm["json"].as<bool>()) {
    std::cout << describe_json(space).dump(2) << "\n";
  } else {
    std::cout << describe(space);
  }
  return 0;
}

const RegisterCommand kArchList({"arch list", "frostnas arch list",
                                 "List the built-in architectures", arch_list});
const RegisterCommand kArchShow({"arch show", "frostnas arch show ARCH [options]",
                                 "Describe an architecture: blocks, shapes, parameters, MACs",
                                 arch_show});
const RegisterCommand kArchSample({"arch sample", "frostnas arch sample SPACE.json [options]",
                                   "Sample an architecture from a search space", arch_sample});
const RegisterCommand kSpaceShow({"space show", "frostnas space show SPACE.json [options]",
                                  "Describe a search space", space_show});

}  // namespace
}  // namespace frostnas::cli
