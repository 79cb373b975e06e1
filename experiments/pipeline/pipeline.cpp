#include "experiments/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "experiments/pipeline/cell_stage.h"
#include "search/driver/latency_source.h"
#include "search/driver/search_driver.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"
#include "space/builtin_archs.h"
#include "space/error.h"
#include "space/search_space.h"
#include "trainer/data/load_dataset.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/train/train_model.h"

namespace frostnas {

namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool stopped(const PipelineHooks& hooks) { return hooks.stop && hooks.stop->load(); }

class StageLog {
 public:
  StageLog(Store& store, int64_t id, const PipelineHooks& hooks)
      : store_(store), id_(id), hooks_(hooks) {}
  void operator()(const std::string& message) const {
    store_.log_event(id_, "info", message);
    if (hooks_.log) hooks_.log(message);
  }

 private:
  Store& store_;
  int64_t id_;
  const PipelineHooks& hooks_;
};

bool stage_done(const Store& store, int64_t id, const std::string& name) {
  const auto s = store.get_stage(id, name);
  return s && (s->status == "done" || s->status == "skipped");
}

nlohmann::json stage_result(const Store& store, int64_t id, const std::string& name) {
  const auto s = store.get_stage(id, name);
  return s ? s->result : nlohmann::json::object();
}

/// The sub-experiment of kind `kind` named `name` (the pipeline's own), if any.
std::optional<int64_t> find_experiment(const Store& store, const std::string& kind,
                                       const std::string& name) {
  for (const auto& e : store.list_experiments(kind))
    if (e.name == name) return e.id;
  return std::nullopt;
}

DataSplits load_splits(const SearchDataConfig& d, uint64_t seed, bool with_test) {
  ImageDataset train = load_dataset(d.name, "train", d.dir, d.images);
  if (d.train_subset > 0) train = take_subset(train, d.train_subset + d.val_size, seed);
  TrainValSplit split = split_train_val(train, d.val_size, seed);
  return DataSplits{std::move(split.train), std::move(split.val),
                    with_test ? load_dataset(d.name, "test", d.dir, d.images) : ImageDataset{}};
}

/// MobileNetV2-style network on the skeleton of `space`: every slot kept, inverted
/// residuals without the squeeze branch, EF 6 (EF 1 for the very first block, as in
/// MobileNetV2), kernel 3.
NetSpec mobilenet_like(const SearchSpace& space, double width) {
  NetSpec net = skeleton(space);
  net.width_mult = width;
  char name[64];
  std::snprintf(name, sizeof(name), "mobilenet-%.2f", width);
  net.name = name;
  bool first = true;
  for (auto& stage : net.stages) {
    for (auto& b : stage.blocks) {
      b.type = BlockType::kMBConv;
      b.kernel = 3;
      b.expansion = first ? 1 : 6;
      b.reduction = 4;
      first = false;
    }
  }
  validate(net, "mobilenet-like baseline");
  return net;
}

struct Trained {
  CandidateResult result;
  FinalModel model;
  bool interrupted = false;
};

/// Trains `net` from scratch with `train`, scores it on the test split, converts it to
/// INT8, saves it under `save_dir` (int8/ artifact that `frostnas eval` loads, float
/// checkpoint qat.pt, arch.json) and measures INT8 and FP32 latency end to end.
Trained train_and_measure(const NetSpec& net, const DataSplits& data, TrainConfig train,
                          const PipelineConfig& config, int64_t candidate_id,
                          const PipelineHooks& hooks, const std::string& save_dir) {
  Trained out;
  out.model.name = net.name;
  out.model.candidate_id = candidate_id;
  out.result.candidate_id = candidate_id;
  train.transform = input_transform_for(net, data.train, train.transform);
  train.progress = !hooks.quiet;
  train.quiet = hooks.quiet;
  TrainCallbacks callbacks;
  callbacks.stop_flag = hooks.stop;
  TrainResult r;
  try {
    r = train_model(net, train, data, callbacks);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    out.result.status = "failed";
    out.result.error = e.what();
    return out;
  }
  if (r.interrupted) {
    out.interrupted = true;
    return out;
  }
  out.result.train_seconds = r.train_seconds;
  out.model.train_seconds = r.train_seconds;
  if (r.diverged || !r.int8) {
    out.result.status = "failed";
    out.result.error = r.diverged ? "diverged: " + r.diverged_reason : "no INT8 model";
    return out;
  }
  const fs::path dir(save_dir);
  fs::create_directories(dir);
  save_int8_model(*r.int8, (dir / "int8").string());
  save_qat_checkpoint(*r.net, (dir / "qat.pt").string());
  save_net_spec(net, (dir / "arch.json").string());
  // Timed under the table's protocol (in a group with sampled networks of the space), by
  // the hook in a fresh process when the CLI provides one.
  const fs::path space_json = dir.parent_path() / "space.json";
  if (!fs::exists(space_json)) {
    const fs::path tmp = space_json.string() + ".tmp";
    {
      std::ofstream f(tmp);
      f << to_json(config.search.space).dump(1) << "\n";
      if (!f) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, space_json);
  }
  NetTiming t;
  if (hooks.time_saved_model) {
    t = hooks.time_saved_model(dir.string(), space_json.string(), config.measure, config.seed);
  } else {
    BuiltNet built;
    built.spec = net;
    built.int8 = r.int8;
    built.fp32 = std::make_shared<FoldedNet>(fold_to_fp32(*r.net));
    built.input = torch::rand({1, net.in_channels, net.input_size, net.input_size});
    const int previous_threads = torch::get_num_threads();
    apply_thread_settings(config.measure.threads);
    TimingOptions timing;
    timing.warmup = config.measure.warmup;
    timing.rounds = config.measure.rounds;
    timing.seed = config.seed;
    t = time_with_companions(
            {built}, calibration_networks(config.search.space, kNetworkGroup - 1, kCalibrationSeed),
            config.search.latency.engine, timing, kCalibrationSeed + config.seed)
            .front();
    apply_thread_settings(previous_threads);
  }

  out.result.status = "done";
  out.result.int8_acc = r.int8_acc;
  out.result.qat_acc = r.qat_acc;
  out.result.fp32_acc = r.fp32_acc;
  out.result.measured_latency_ms = t.int8.median_ms;
  out.model.int8_acc = r.int8_acc;
  out.model.qat_acc = r.qat_acc;
  out.model.fp32_acc = r.fp32_acc;
  out.model.int8_ms = t.int8.median_ms;
  out.model.fp32_ms = t.fp32.median_ms;
  return out;
}

}  // namespace

const std::vector<std::string>& pipeline_stage_names() {
  static const std::vector<std::string> names{"latency", "cell_search", "search", "retrain",
                                              "baselines"};
  return names;
}

nlohmann::json to_json(const FinalModel& m) {
  return {{"group", m.group},
          {"name", m.name},
          {"candidate_id", m.candidate_id},
          {"int8_acc", m.int8_acc},
          {"qat_acc", m.qat_acc},
          {"fp32_acc", m.fp32_acc},
          {"int8_ms", m.int8_ms},
          {"fp32_ms", m.fp32_ms},
          {"predicted_int8_ms",
           m.predicted_int8_ms ? nlohmann::json(*m.predicted_int8_ms) : nlohmann::json()},
          {"train_seconds", m.train_seconds}};
}

FinalModel final_model_from_json(const nlohmann::json& j) {
  // NaN is stored as null.
  auto num = [&](const char* key) {
    return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : std::nan("");
  };
  FinalModel m;
  m.group = j.at("group").get<std::string>();
  m.name = j.at("name").get<std::string>();
  m.candidate_id = j.at("candidate_id").get<int64_t>();
  m.int8_acc = num("int8_acc");
  m.qat_acc = num("qat_acc");
  m.fp32_acc = num("fp32_acc");
  m.int8_ms = num("int8_ms");
  m.fp32_ms = num("fp32_ms");
  if (j.contains("predicted_int8_ms") && !j.at("predicted_int8_ms").is_null())
    m.predicted_int8_ms = j.at("predicted_int8_ms").get<double>();
  m.train_seconds = j.value("train_seconds", 0.0);
  return m;
}

PipelineSummary run_pipeline(const PipelineConfig& config, Store& store,
                             std::optional<int64_t> resume_id, const PipelineHooks& hooks) {
  const auto t0 = Clock::now();
  PipelineSummary summary;
  ExperimentRecord exp;
  if (resume_id) {
    exp = store.get_experiment(*resume_id);
    if (exp.kind != "pipeline") {
      throw InputError("--resume " + std::to_string(*resume_id) + ": experiment is a " + exp.kind +
                       ", not a pipeline (see frostnas runs)");
    }
    store.set_experiment_status(exp.id, "running");
  } else {
    ExperimentRecord e;
    e.kind = "pipeline";
    e.name = config.name;
    e.config = config.to_json();
    e.seed = static_cast<int64_t>(config.seed);
    exp = store.create_experiment(e);
    for (const auto& s : pipeline_stage_names()) store.set_stage(exp.id, s, "pending");
  }
  const int64_t id = exp.id;
  summary.experiment_id = id;
  const StageLog log(store, id, hooks);
  const std::string prefix = "pipeline-" + std::to_string(id) + "-";
  auto interrupted = [&]() {
    store.set_experiment_status(id, "interrupted");
    summary.interrupted = true;
    summary.seconds = seconds_since(t0);
    return summary;
  };

  SearchConfig search = config.search;
  search.name = prefix + "search";
  search.seed = config.seed;

  // (1) The latency table of the macro space (incremental: entries are reused).
  if (!stage_done(store, id, "latency")) {
    store.set_stage(id, "latency", "running");
    const auto t = Clock::now();
    make_latency_fn(search, store, hooks.quiet);
    const double s = seconds_since(t);
    store.set_stage(id, "latency", "done", {{"seconds", s}});
    log("stage latency: table of " + search.space.name + " ready in " + std::to_string(s) + " s");
  }
  if (stopped(hooks)) return interrupted();

  // (2) The cell search; its genotype becomes a block option of the macro space.
  std::optional<Genotype> genotype;
  if (config.cell_search.is_null()) {
    if (!stage_done(store, id, "cell_search"))
      store.set_stage(id, "cell_search", "skipped", {{"reason", "no cell_search in the config"}});
  } else if (stage_done(store, id, "cell_search")) {
    const nlohmann::json r = stage_result(store, id, "cell_search");
    genotype = genotype_from_json(r.at("genotype"), store.path() + ": stage cell_search");
    summary.cell_experiment_id = r.at("experiment_id").get<int64_t>();
  } else {
    store.set_stage(id, "cell_search", "running");
    const std::string name = prefix + "cell";
    PipelineCellResult cell = run_cell_stage(config.cell_search, config.cell_search_source, name,
                                             config.seed, store, hooks.stop, hooks.quiet);
    summary.cell_experiment_id = cell.experiment_id;
    if (cell.interrupted) return interrupted();
    genotype = cell.genotype;
    store.set_stage(id, "cell_search", "done",
                    {{"experiment_id", cell.experiment_id},
                     {"genotype", to_json(*genotype)},
                     {"seconds", cell.seconds}});
    log("stage cell_search: experiment " + std::to_string(cell.experiment_id) + ", genotype " +
        canonical_string(*genotype));
  }
  if (genotype) search.space = with_cell_option(search.space, *genotype);
  if (stopped(hooks)) return interrupted();

  // (3) The RL search over Frost bottleneck variants (and the cell) with the INT8 target.
  const LatencyFn latency = make_latency_fn(search, store, hooks.quiet);
  configure_runtime(search.train.threads);
  std::optional<int64_t> search_id = find_experiment(store, "search", search.name);
  if (!stage_done(store, id, "search")) {
    store.set_stage(
        id, "search", "running",
        search_id ? nlohmann::json{{"experiment_id", *search_id}} : nlohmann::json::object());
    torch::manual_seed(config.seed);
    const DataSplits data = load_splits(search.data, search.seed, /*with_test=*/false);
    TrainingEvaluator evaluator(data, search.train, hooks.stop);
    SearchHooks sh;
    sh.stop = hooks.stop;
    sh.on_step = [&](const SearchStep& s) {
      if (!search_id) {
        search_id = s.candidate.experiment_id;
        store.set_stage(id, "search", "running", {{"experiment_id", *search_id}});
      }
      char line[160];
      std::snprintf(line, sizeof(line), "search [%lld/%lld] reward %.4f best %.4f",
                    static_cast<long long>(s.step), static_cast<long long>(s.total), s.reward,
                    s.best_reward);
      if (hooks.log) hooks.log(line);
    };
    const SearchSummary ss = run_search(search, store, evaluator, latency, search_id, sh);
    search_id = ss.experiment_id;
    if (ss.interrupted) {
      summary.search_experiment_id = search_id;
      return interrupted();
    }
    store.set_stage(id, "search", "done",
                    {{"experiment_id", ss.experiment_id},
                     {"best_candidate", ss.best ? nlohmann::json(ss.best->id) : nlohmann::json()}});
    log("stage search: experiment " + std::to_string(ss.experiment_id) + ", " +
        std::to_string(ss.steps) + " proposals");
  }
  summary.search_experiment_id = search_id;
  if (stopped(hooks)) return interrupted();

  // (4, 5) Retraining of the top k, then (6) the baselines, all in one final experiment.
  std::optional<int64_t> final_id = find_experiment(store, kPipelineFinalKind, prefix + "final");
  if (!final_id) {
    ExperimentRecord e;
    e.kind = kPipelineFinalKind;
    e.name = prefix + "final";
    e.config = {{"pipeline", id},
                {"retrain", config.to_json().at("retrain")},
                {"measure", config.to_json().at("measure")}};
    e.seed = static_cast<int64_t>(config.seed);
    final_id = store.create_experiment(e).id;
  }
  summary.final_experiment_id = final_id;
  std::optional<DataSplits> final_data;
  auto data = [&]() -> const DataSplits& {
    if (!final_data) final_data = load_splits(config.retrain.data, config.seed, /*with_test=*/true);
    return *final_data;
  };

  // Trains one model of a group unless the final experiment already has its result.
  auto run_model = [&](NetSpec net, const std::string& group, std::optional<double> predicted,
                       std::vector<FinalModel>& models) -> bool {
    const std::string hash = arch_hash(net);
    auto existing = store.find_candidate_by_hash(*final_id, hash);
    for (const auto& m : models)
      if (m.candidate_id == (existing ? existing->id : -1)) return true;  // listed already
    if (existing && (existing->status == "done" || existing->status == "failed")) {
      // Killed between the candidate's commit and the stage update: rebuild the entry
      // from the candidate (its FP32 latency was not stored there).
      if (existing->status == "done") {
        FinalModel m;
        m.group = group;
        m.name = net.name;
        m.candidate_id = existing->id;
        m.int8_acc = existing->int8_acc.value_or(std::nan(""));
        m.qat_acc = existing->qat_acc.value_or(std::nan(""));
        m.fp32_acc = existing->fp32_acc.value_or(std::nan(""));
        m.int8_ms = existing->measured_latency_ms.value_or(std::nan(""));
        m.fp32_ms = std::nan("");
        m.predicted_int8_ms = existing->predicted_latency_ms;
        m.train_seconds = existing->train_seconds.value_or(0.0);
        models.push_back(m);
      }
      return true;
    }
    if (!existing) existing = store.add_candidate(*final_id, net, predicted);
    store.mark_running(existing->id);
    log("training " + group + " " + net.name + " (candidate " + std::to_string(existing->id) + ")");
    Trained t = train_and_measure(net, data(), config.retrain.train, config, existing->id, hooks,
                                  pipeline_model_dir(store, id, net.name));
    if (t.interrupted) return false;
    store.finish_candidate(t.result);
    t.model.group = group;
    t.model.predicted_int8_ms = predicted;
    if (t.result.status == "done") {
      models.push_back(t.model);
      char line[200];
      std::snprintf(line, sizeof(line),
                    "%s %s: int8 %.2f%% fp32 %.2f%% latency int8 %.3f ms fp32 %.3f ms",
                    group.c_str(), net.name.c_str(), t.model.int8_acc, t.model.fp32_acc,
                    t.model.int8_ms, t.model.fp32_ms);
      log(line);
    } else {
      log(group + " " + net.name + " failed: " + t.result.error);
    }
    return true;
  };
  auto save_models = [&](const std::string& stage, const std::vector<FinalModel>& models,
                         const std::string& status) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : models) list.push_back(to_json(m));
    store.set_stage(id, stage, status, {{"experiment_id", *final_id}, {"models", list}});
  };

  std::vector<FinalModel> found;
  {
    const nlohmann::json r = stage_result(store, id, "retrain");
    for (const auto& m : r.value("models", nlohmann::json::array()))
      found.push_back(final_model_from_json(m));
  }
  if (!stage_done(store, id, "retrain")) {
    save_models("retrain", found, "running");
    int rank = 0;
    for (const auto& c : store.top_candidates(*search_id, config.retrain.top_k)) {
      NetSpec net =
          net_spec_from_json(c.arch, store.path() + ": candidate " + std::to_string(c.id));
      net.name = "found-" + std::to_string(++rank);
      if (!run_model(net, "found", c.predicted_latency_ms, found)) {
        save_models("retrain", found, "running");
        return interrupted();
      }
      save_models("retrain", found, "running");
    }
    save_models("retrain", found, "done");
  }
  if (stopped(hooks)) return interrupted();

  std::vector<FinalModel> baselines;
  {
    const nlohmann::json r = stage_result(store, id, "baselines");
    for (const auto& m : r.value("models", nlohmann::json::array()))
      baselines.push_back(final_model_from_json(m));
  }
  if (!stage_done(store, id, "baselines")) {
    save_models("baselines", baselines, "running");
    std::vector<std::pair<NetSpec, std::string>> todo;
    for (const auto& name : config.baselines.frostnet) {
      NetSpec net = adapt_spec_to_data(builtin_arch(name), data().train, search.space.input_size);
      net.name = name;
      todo.emplace_back(net, "frostnet");
    }
    if (!config.baselines.mobilenet_widths.empty() && !found.empty()) {
      // Pick, for every found network, the width whose untrained INT8 latency is closest.
      std::vector<NetSpec> grid;
      for (double w : config.baselines.mobilenet_widths)
        grid.push_back(mobilenet_like(search.space, w));
      apply_thread_settings(config.measure.threads);
      TimingOptions timing;
      timing.warmup = config.measure.warmup;
      timing.rounds = config.measure.rounds;
      timing.seed = config.seed;
      const auto timings = measure_networks(grid, search.latency.engine, timing, config.seed);
      configure_runtime(search.train.threads);
      std::map<size_t, bool> chosen;
      for (const auto& f : found) {
        size_t best = 0;
        for (size_t i = 1; i < grid.size(); ++i)
          if (std::abs(timings[i].int8.median_ms - f.int8_ms) <
              std::abs(timings[best].int8.median_ms - f.int8_ms))
            best = i;
        chosen[best] = true;
      }
      for (const auto& [i, unused] : chosen) todo.emplace_back(grid[i], "mobilenet");
    }
    for (const auto& [net, group] : todo) {
      if (!run_model(net, group, std::nullopt, baselines)) {
        save_models("baselines", baselines, "running");
        return interrupted();
      }
      save_models("baselines", baselines, "running");
    }
    save_models("baselines", baselines, "done");
  }

  summary.models = found;
  summary.models.insert(summary.models.end(), baselines.begin(), baselines.end());
  store.set_experiment_status(*final_id, "done");
  store.set_experiment_status(id, "done");
  summary.seconds = seconds_since(t0);
  log("pipeline done");
  return summary;
}

std::string pipeline_model_dir(const Store& store, int64_t pipeline_id, const std::string& name) {
  return (fs::path(store.path() + ".d") / "pipeline" / std::to_string(pipeline_id) / name).string();
}

}  // namespace frostnas
