// `frostnas lut build|show|validate|time`: the latency lookup table of a search space, and
// saved models timed the way the table times networks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/progress_bar.h"
#include "common/error.h"
#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/lut_validation.h"
#include "search/latency/timing.h"
#include "search/store/store.h"
#include "space/builtin_archs.h"
#include "space/search_space.h"

namespace frostnas::cli {
namespace {

int64_t check_range(const po::variables_map& vm, const char* option, int64_t lo, int64_t hi) {
  const int64_t v = vm[option].as<int64_t>();
  if (v < lo || v > hi) {
    throw InputError(std::string("--") + option + ": " + std::to_string(v) +
                     " is out of range (allowed: " + std::to_string(lo) + ".." +
                     std::to_string(hi) + ")");
  }
  return v;
}

std::string require(const po::variables_map& vm, const char* option, const std::string& what) {
  if (!vm.count(option)) throw InputError(std::string("missing --") + option + " " + what);
  return vm[option].as<std::string>();
}

QuantEngine engine_option(const po::variables_map& vm) {
  const QuantEngine engine = parse_quant_engine(vm["engine"].as<std::string>(), "--engine");
  if (!quant_engine_available(engine)) {
    throw InputError("--engine: " + to_string(engine) + " is not available in this LibTorch build");
  }
  return engine;
}

SearchSpace space_option(const po::variables_map& vm) {
  SearchSpace space = load_search_space(require(vm, "space", "SPACE.json"));
  if (vm.count("input-size")) space.input_size = check_range(vm, "input-size", 8, 1024);
  validate(skeleton(space), "--input-size " + std::to_string(space.input_size));
  return space;
}

void add_machine_options(po::options_description& options) {
  options.add_options()("engine", po::value<std::string>()->default_value("onednn"),
                        "INT8 engine: onednn or qnnpack")(
      "threads", po::value<int64_t>()->default_value(1), "intra-op threads (1..256)");
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a.empty() ? "unknown" : a + " " + b + " " + c;
}

std::string with_args(const char* cmd_a, const char* cmd_b, const std::vector<std::string>& args,
                      std::vector<std::string>& argv) {
  argv = {"frostnas", cmd_a, cmd_b};
  argv.insert(argv.end(), args.begin(), args.end());
  return {};
}

TimingOptions timing_option(const po::variables_map& vm, uint64_t seed) {
  TimingOptions t;
  t.rounds = check_range(vm, "rounds", 1, 10000);
  t.warmup = check_range(vm, "warmup", 0, 1000);
  t.seed = seed;
  return t;
}

std::string describe_correction(const LinearCorrection& c) {
  if (c.networks == 0) return "none";
  return fmt("%.4f", c.scale) + " * sum " + (c.per_block_ms < 0 ? "- " : "+ ") +
         fmt("%.4f", std::abs(c.per_block_ms)) + " ms/block " + (c.offset_ms < 0 ? "- " : "+ ") +
         fmt("%.3f", std::abs(c.offset_ms)) + " ms (" + std::to_string(c.networks) + " networks)";
}

int lut_build(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("space", po::value<std::string>(), "frostnas.space/1 JSON file")(
      "db", po::value<std::string>(), "experiment database (SQLite; created when missing)")(
      "input-size", po::value<int64_t>(), "override the space's input side (8..1024)")(
      "force", po::bool_switch()->default_value(false), "re-measure existing entries")(
      "rounds", po::value<int64_t>()->default_value(30), "timed interleaved rounds per entry")(
      "warmup", po::value<int64_t>()->default_value(3), "untimed calls per entry first")(
      "calibration", po::value<int64_t>()->default_value(20),
      "networks measured end to end to fit the correction (0: none)")(
      "chunk", po::value<int64_t>()->default_value(16), "entries interleaved per store write")(
      "weight-quant", po::value<std::string>()->default_value("per_channel"),
      "INT8 weights of the entries: per_channel or per_tensor");
  add_machine_options(options);
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  const QuantEngine engine = engine_option(vm);
  const WeightQuant weights =
      parse_weight_quant(vm["weight-quant"].as<std::string>(), "--weight-quant");
  const int64_t threads = check_range(vm, "threads", 1, 256);
  const SearchSpace space = space_option(vm);
  const std::string db = require(vm, "db", "FILE (the experiment database)");
  const TimingOptions timing = timing_option(vm, 0);
  LutBuildOptions build;
  build.force = vm["force"].as<bool>();
  build.calibration_networks = check_range(vm, "calibration", 0, 1000);
  build.chunk = static_cast<size_t>(check_range(vm, "chunk", 1, 100000));
  build.weight_quant = weights;

  std::vector<std::string> argv;
  with_args("lut", "build", args, argv);
  reexec_with_thread_env(argv, threads, engine);
  apply_thread_settings(threads);

  Store store(db);
  const Fingerprint fp = machine_fingerprint(engine, threads);
  std::cout << "lut build: space " << space.name << " at " << space.input_size << "x"
            << space.input_size << ", " << fp.cpu_model << ", " << fp.engine << " "
            << to_string(weights) << ", " << threads << " thread(s), load average "
            << load_average() << "\n";
  TorchMeasureOptions mo;
  mo.engine = engine;
  mo.weight_quant = weights;
  mo.timing = timing;
  TorchLutMeasurer measurer(mo);
  std::unique_ptr<ProgressBar> bar;
  auto progress = [&](size_t done, size_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("entries", static_cast<int64_t>(total));
    bar->update(static_cast<int64_t>(done));
  };
  NetMeasureFn calibrate = [&](const std::vector<NetSpec>& nets) {
    if (bar) bar->finish();
    ProgressBar cbar("calibration networks", static_cast<int64_t>(nets.size()));
    TimingOptions t = timing;
    t.seed = 1;
    auto out = measure_networks(
        nets, engine, t, build.calibration_seed, kNetworkGroup,
        [&](size_t done) { cbar.update(static_cast<int64_t>(done)); }, weights);
    cbar.finish();
    return out;
  };
  const LutBuildReport r =
      build_latency_table(store, fp, space, measurer, calibrate, build, progress);
  if (bar) bar->finish();
  std::cout << "lut build: " << r.items << " entries (" << r.measured << " measured, " << r.reused
            << " reused) in " << ProgressBar::format_duration(r.seconds) << " into " << db
            << " (fingerprint " << r.fingerprint_id << ")\n";
  std::cout << "correction int8: " << describe_correction(r.int8) << (r.calibrated ? "" : " (kept)")
            << "\n";
  std::cout << "correction fp32: " << describe_correction(r.fp32) << (r.calibrated ? "" : " (kept)")
            << "\n";
  return 0;
}

int lut_show(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("db", po::value<std::string>(), "experiment database")(
      "json", po::bool_switch()->default_value(false), "print one JSON object");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  const std::string db = require(vm, "db", "FILE (the experiment database)");
  if (!std::filesystem::is_regular_file(db)) throw InputError("--db: " + db + ": no such file");
  Store store(db);
  nlohmann::json all = nlohmann::json::array();
  const bool json = vm["json"].as<bool>();
  for (const auto& fp : store.list_fingerprints()) {
    const LatencyTable t = load_latency_table(store, fp.id);
    if (json) {
      nlohmann::json j = to_json(fp);
      j["entries"] = nlohmann::json::array();
      for (const auto& [k, e] : t.entries()) j["entries"].push_back(to_json(e));
      all.push_back(j);
      continue;
    }
    std::cout << "fingerprint " << fp.id << ": " << fp.cpu_model << ", " << fp.cores << " cores, "
              << fp.engine << ", " << fp.threads << " thread(s), LibTorch " << fp.torch_version
              << ", " << fp.text << ": " << t.size() << " entries\n";
    std::cout << "  correction int8: " << describe_correction(t.correction(Precision::kInt8))
              << "\n  correction fp32: " << describe_correction(t.correction(Precision::kFP32))
              << "\n";
    std::printf("  %-64s %10s %10s %10s %8s\n", "key", "int8 ms", "fp32 ms", "int8/fp32", "spread");
    std::map<std::string, int> keys;
    for (const auto& [k, e] : t.entries())
      if (k.first.rfind("calib:", 0) != 0) keys[k.first] = 1;
    for (const auto& [key, unused] : keys) {
      const auto i8 = t.find(key, Precision::kInt8);
      const auto f32 = t.find(key, Precision::kFP32);
      const double a = i8 ? i8->median_ms : NAN, b = f32 ? f32->median_ms : NAN;
      const double spread =
          std::max(i8 && a > 0 ? i8->spread_ms / a : 0.0, f32 && b > 0 ? f32->spread_ms / b : 0.0);
      std::printf("  %-64s %10.4f %10.4f %10.3f %7.1f%%\n", key.c_str(), a, b, a / b,
                  100.0 * spread);
    }
  }
  if (json) std::cout << nlohmann::json{{"db", db}, {"fingerprints", all}}.dump() << "\n";
  return 0;
}

nlohmann::json stats_json(const ErrorStats& s) {
  return {{"mdape_pct", s.mdape_pct},
          {"within_10_pct", s.within_pct},
          {"mean_signed_pct", s.mean_signed_pct}};
}

void print_validation_json(const LutValidationReport& r, const SearchSpace& space,
                           QuantEngine engine, int64_t threads, const LutValidationOptions& o,
                           const std::string& load_before, const std::string& load_after) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& n : r.nets) {
    rows.push_back({{"seed", n.seed},
                    {"hash", n.hash},
                    {"blocks", n.blocks},
                    {"int8_predicted_ms", n.int8_predicted_ms},
                    {"int8_predicted_stored_ms", n.int8_predicted_stored_ms},
                    {"int8_measured_ms", n.int8_measured_ms},
                    {"int8_spread_ms", n.int8_spread_ms},
                    {"fp32_predicted_ms", n.fp32_predicted_ms},
                    {"fp32_predicted_stored_ms", n.fp32_predicted_stored_ms},
                    {"fp32_measured_ms", n.fp32_measured_ms},
                    {"fp32_spread_ms", n.fp32_spread_ms}});
  }
  std::cout << nlohmann::json{{"space", space.name},
                              {"input_size", space.input_size},
                              {"engine", to_string(engine)},
                              {"weight_quant", to_string(o.weight_quant)},
                              {"threads", threads},
                              {"corrected", o.corrected},
                              {"samples", o.samples},
                              {"load_average_before", load_before},
                              {"load_average_after", load_after},
                              {"networks", rows},
                              {"int8", stats_json(r.int8)},
                              {"fp32", stats_json(r.fp32)},
                              {"recalibration_networks", r.calibration_networks},
                              {"int8_stored_correction", stats_json(r.int8_stored)},
                              {"fp32_stored_correction", stats_json(r.fp32_stored)}}
                   .dump()
            << "\n";
}

void print_validation_table(const LutValidationReport& r) {
  std::printf("%6s %6s %10s %10s %8s %10s %10s %8s\n", "seed", "blocks", "int8 pred", "int8 meas",
              "err", "fp32 pred", "fp32 meas", "err");
  for (const auto& n : r.nets) {
    std::printf("%6lld %6lld %10.3f %10.3f %+7.1f%% %10.3f %10.3f %+7.1f%%\n",
                static_cast<long long>(n.seed), static_cast<long long>(n.blocks),
                n.int8_predicted_ms, n.int8_measured_ms,
                100.0 * (n.int8_predicted_ms - n.int8_measured_ms) / n.int8_measured_ms,
                n.fp32_predicted_ms, n.fp32_measured_ms,
                100.0 * (n.fp32_predicted_ms - n.fp32_measured_ms) / n.fp32_measured_ms);
  }
}

void print_validation_summary(const LutValidationReport& r, int64_t samples,
                              const std::string& load_before, const std::string& load_after) {
  if (r.calibration_networks > 0) {
    std::cout << "stored correction: int8 MdAPE " << fmt("%.1f", r.int8_stored.mdape_pct) << "%, "
              << fmt("%.1f", r.int8_stored.within_pct) << "% within +-10%, bias "
              << fmt("%+.1f", r.int8_stored.mean_signed_pct) << "%; fp32 MdAPE "
              << fmt("%.1f", r.fp32_stored.mdape_pct) << "%, "
              << fmt("%.1f", r.fp32_stored.within_pct) << "% within +-10%, bias "
              << fmt("%+.1f", r.fp32_stored.mean_signed_pct) << "%\n";
    std::cout << "correction re-fitted on " << r.calibration_networks
              << " calibration networks measured in this run: int8 "
              << describe_correction(*r.refit_int8) << "; fp32 "
              << describe_correction(*r.refit_fp32) << "\n";
  }
  std::cout << "load average before " << load_before << ", after " << load_after << "; bias int8 "
            << fmt("%+.1f", r.int8.mean_signed_pct) << "%, fp32 "
            << fmt("%+.1f", r.fp32.mean_signed_pct) << "%\n";
  std::cout << "lut validate: " << samples << " networks"
            << (r.calibration_networks == 0 ? "" : " (re-fitted correction)") << ": int8 MdAPE "
            << fmt("%.1f", r.int8.mdape_pct) << "%, " << fmt("%.1f", r.int8.within_pct)
            << "% within +-10%; fp32 MdAPE " << fmt("%.1f", r.fp32.mdape_pct) << "%, "
            << fmt("%.1f", r.fp32.within_pct) << "% within +-10%\n";
}

int lut_validate(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("space", po::value<std::string>(), "frostnas.space/1 JSON file")(
      "db", po::value<std::string>(), "experiment database holding the table")(
      "samples", po::value<int64_t>(), "architectures to sample and measure (1..10000)")(
      "seed", po::value<int64_t>()->default_value(0), "first sample seed (>= 0)")(
      "input-size", po::value<int64_t>(), "override the space's input side (8..1024)")(
      "rounds", po::value<int64_t>()->default_value(40), "timed interleaved rounds per network")(
      "warmup", po::value<int64_t>()->default_value(3), "untimed calls per network first")(
      "group", po::value<int64_t>()->default_value(kValidateGroup),
      "networks timed interleaved per group; with the default 30 samples and 20 "
      "re-measured calibration networks all are in one group, so that drift of the "
      "machine's speed between groups cannot bias part of the samples")(
      "recalibrate", po::value<int64_t>()->default_value(-1),
      "calibration networks re-measured in this run, interleaved with the samples, to "
      "re-fit the correction to the machine's present state (-1: as many as the table "
      "was fitted on; 0: use the stored correction only)")(
      "uncorrected", po::bool_switch()->default_value(false), "predict with the raw sum")(
      "json", po::bool_switch()->default_value(false), "print one JSON object")(
      "weight-quant", po::value<std::string>()->default_value("per_channel"),
      "INT8 weights of the networks and of the table entries: per_channel or per_tensor");
  add_machine_options(options);
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  LutValidationOptions o;
  o.engine = engine_option(vm);
  o.weight_quant = parse_weight_quant(vm["weight-quant"].as<std::string>(), "--weight-quant");
  const int64_t threads = check_range(vm, "threads", 1, 256);
  const SearchSpace space = space_option(vm);
  const std::string db = require(vm, "db", "FILE (the experiment database)");
  if (!vm.count("samples")) throw InputError("missing --samples N (architectures to measure)");
  o.samples = check_range(vm, "samples", 1, 10000);
  o.seed = check_range(vm, "seed", 0, INT64_MAX);
  o.timing = timing_option(vm, static_cast<uint64_t>(o.seed));
  o.corrected = !vm["uncorrected"].as<bool>();
  o.group = check_range(vm, "group", 1, 10000);
  o.recalibrate = check_range(vm, "recalibrate", -1, 1000);
  const bool json = vm["json"].as<bool>();

  const MachineTable mt = open_machine_table(db, o.engine, threads);
  const LutValidationPlan plan = plan_lut_validation(*mt.table, space, o, db);
  std::vector<std::string> argv;
  with_args("lut", "validate", args, argv);
  reexec_with_thread_env(argv, threads, o.engine);
  apply_thread_settings(threads);
  const std::string load_before = load_average();
  std::unique_ptr<ProgressBar> bar;
  const LutValidationReport report =
      run_lut_validation(mt.table, plan, o, [&](size_t done, size_t total) {
        if (json) return;
        if (!bar) bar = std::make_unique<ProgressBar>("networks", static_cast<int64_t>(total));
        bar->update(static_cast<int64_t>(done));
      });
  if (bar) bar->finish();
  const std::string load_after = load_average();
  if (json) {
    print_validation_json(report, space, o.engine, threads, o, load_before, load_after);
    return 0;
  }
  print_validation_table(report);
  print_validation_summary(report, o.samples, load_before, load_after);
  return 0;
}

po::options_description lut_time_options() {
  po::options_description options("Options");
  options.add_options()(
      "model", po::value<std::vector<std::string>>(),
      "saved model directory with int8/ and qat.pt or qat_checkpoint.pt (repeatable)")(
      "arch", po::value<std::vector<std::string>>(),
      "architecture (built-in name or JSON file) timed with seeded random weights, as the "
      "table's networks: trained weights run alike (repeatable)")(
      "engine", po::value<std::string>(),
      "INT8 engine of --arch networks: onednn or qnnpack (default: the models' engine, "
      "else onednn)")(
      "space", po::value<std::string>(),
      "frostnas.space/1 JSON whose sampled networks fill the interleaved group (the table's "
      "protocol); without it the models are timed among themselves")(
      "input-size", po::value<int64_t>(), "override the space's input side (8..1024)")(
      "db", po::value<std::string>(), "experiment database with a table: adds its predictions")(
      "seed", po::value<int64_t>()->default_value(0), "seed of the inputs and round order (>= 0)")(
      "rounds", po::value<int64_t>()->default_value(40), "timed interleaved rounds per network")(
      "warmup", po::value<int64_t>()->default_value(3), "untimed calls per network first")(
      "threads", po::value<int64_t>()->default_value(1), "intra-op threads (1..256)")(
      "weight-quant", po::value<std::string>()->default_value("per_channel"),
      "INT8 weights of --arch networks: per_channel or per_tensor (--model: the model's)")(
      "json", po::bool_switch()->default_value(false), "print one JSON object");
  return options;
}

/// The networks `lut time` times: saved models (--model) first, then --arch networks with
/// seeded random weights, all of one INT8 engine (returned in `engine`).
std::vector<BuiltNet> timed_models(const po::variables_map& vm, uint64_t seed, QuantEngine& engine,
                                   std::vector<std::string>& sources) {
  const auto dirs =
      vm.count("model") ? vm["model"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const auto archs =
      vm.count("arch") ? vm["arch"].as<std::vector<std::string>>() : std::vector<std::string>{};
  std::vector<BuiltNet> models;
  for (const auto& d : dirs) {
    models.push_back(load_built_net(d, seed));
    sources.push_back(d);
  }
  engine = models.empty() ? QuantEngine::kOneDNN : models.front().int8->engine();
  if (vm.count("engine")) engine = engine_option(vm);
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].int8->engine() != engine) {
      throw InputError(dirs[i] + "/int8: engine " + to_string(models[i].int8->engine()) +
                       ", but the others use " + to_string(engine) +
                       " (time models of one engine together)");
    }
  }
  if (!quant_engine_available(engine))
    throw InputError("engine " + to_string(engine) + " is not available in this LibTorch build");
  const WeightQuant weights =
      parse_weight_quant(vm["weight-quant"].as<std::string>(), "--weight-quant");
  for (size_t i = 0; i < archs.size(); ++i) {
    NetSpec spec = load_arch(archs[i]);
    validate(spec, archs[i]);
    models.push_back(build_net(spec, engine, seed + i, 2, 2, weights));
    sources.push_back(archs[i]);
  }
  return models;
}

/// One row per model: the measured latencies and, with a table, its predictions.
nlohmann::json timing_rows(const std::vector<BuiltNet>& models,
                           const std::vector<std::string>& sources, const std::vector<NetTiming>& t,
                           const std::optional<MachineTable>& mt) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < models.size(); ++i) {
    const WeightQuant weights = models[i].int8->weight_quant();
    nlohmann::json row{{"source", sources[i]},
                       {"name", models[i].spec.name},
                       {"weight_quant", to_string(weights)},
                       {"int8_ms", t[i].int8.median_ms},
                       {"int8_spread_ms", t[i].int8.spread_ms},
                       {"fp32_ms", t[i].fp32.median_ms},
                       {"fp32_spread_ms", t[i].fp32.spread_ms}};
    if (mt) {
      // Each model is priced with the entries of its own weight scheme.
      const TableLatencyModel m8(mt->table, Precision::kInt8, true, weights);
      const TableLatencyModel m32(mt->table, Precision::kFP32, true, weights);
      if (m8.missing_keys(models[i].spec).empty())
        row["int8_predicted_ms"] = m8.predict_ms(models[i].spec);
      if (m32.missing_keys(models[i].spec).empty())
        row["fp32_predicted_ms"] = m32.predict_ms(models[i].spec);
    }
    rows.push_back(row);
  }
  return rows;
}

void print_timing_rows(const nlohmann::json& rows) {
  std::printf("%-24s %16s %16s %12s %12s\n", "model", "INT8 ms (IQR)", "FP32 ms (IQR)", "INT8 pred",
              "FP32 pred");
  auto pred = [](const nlohmann::json& row, const char* key) {
    return row.contains(key) ? fmt("%.3f", row.at(key).get<double>()) : std::string("-");
  };
  for (const auto& row : rows) {
    std::printf("%-24s %8.3f (%5.3f) %8.3f (%5.3f) %12s %12s\n",
                row.at("name").get<std::string>().c_str(), row.at("int8_ms").get<double>(),
                row.at("int8_spread_ms").get<double>(), row.at("fp32_ms").get<double>(),
                row.at("fp32_spread_ms").get<double>(), pred(row, "int8_predicted_ms").c_str(),
                pred(row, "fp32_predicted_ms").c_str());
  }
}

// `lut time`: saved models (pipeline or `frostnas train --out` directories) timed the way
// `lut build` and `lut validate` time whole networks, in a fresh process: the pipeline
// runs it for its final models, whose in-process figures came out up to 3x too slow
// after training.
int lut_time(const Command& self, const std::vector<std::string>& args) {
  po::options_description options = lut_time_options();
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  if (!vm.count("model") && !vm.count("arch"))
    throw InputError("missing --model DIR (a saved model directory) or --arch ARCH");
  const int64_t threads = check_range(vm, "threads", 1, 256);
  const int64_t seed = check_range(vm, "seed", 0, INT64_MAX);
  const TimingOptions timing = timing_option(vm, static_cast<uint64_t>(seed));
  const bool json = vm["json"].as<bool>();
  std::optional<SearchSpace> space;
  if (vm.count("space")) space = space_option(vm);
  QuantEngine engine = QuantEngine::kOneDNN;
  std::vector<std::string> sources;
  const std::vector<BuiltNet> models =
      timed_models(vm, static_cast<uint64_t>(seed), engine, sources);
  std::optional<MachineTable> mt;
  if (vm.count("db")) mt = open_machine_table(vm["db"].as<std::string>(), engine, threads);

  std::vector<std::string> argv;
  with_args("lut", "time", args, argv);
  reexec_with_thread_env(argv, threads, engine);
  apply_thread_settings(threads);
  const std::string load_before = load_average();
  const int64_t fill = std::max<int64_t>(0, kNetworkGroup - static_cast<int64_t>(models.size()));
  const std::vector<NetSpec> companions =
      space ? calibration_networks(*space, fill, kCalibrationSeed) : std::vector<NetSpec>{};
  const auto t = time_with_companions(models, companions, engine, timing,
                                      kCalibrationSeed + static_cast<uint64_t>(seed));
  const nlohmann::json rows = timing_rows(models, sources, t, mt);
  const std::string load_after = load_average();
  if (json) {
    std::cout << nlohmann::json{{"engine", to_string(engine)},
                                {"threads", threads},
                                {"rounds", timing.rounds},
                                {"companions", companions.size()},
                                {"load_average_before", load_before},
                                {"load_average_after", load_after},
                                {"models", rows}}
                     .dump()
              << "\n";
    return 0;
  }
  print_timing_rows(rows);
  std::cout << "lut time: " << models.size() << " model(s) with " << companions.size()
            << " sampled companion network(s), batch 1, " << threads << " thread(s), "
            << to_string(engine) << ", load average before " << load_before << ", after "
            << load_after << "\n";
  return 0;
}

const RegisterCommand kLutBuild(
    {"lut build", "frostnas lut build --space SPACE.json --db FILE [options]",
     "Measure the INT8 / FP32 latency table of a search space on this machine", lut_build});
const RegisterCommand kLutShow({"lut show", "frostnas lut show --db FILE [options]",
                                "List the latency tables of a database", lut_show});
const RegisterCommand kLutValidate(
    {"lut validate", "frostnas lut validate --space SPACE.json --db FILE --samples N [options]",
     "Compare table predictions with end-to-end measurements of sampled networks", lut_validate});
const RegisterCommand kLutTime(
    {"lut time", "frostnas lut time --model DIR [--model DIR ...] [--space SPACE.json] [options]",
     "Time saved models end to end the way the table times networks, with its predictions",
     lut_time});

}  // namespace
}  // namespace frostnas::cli
