#include "experiments/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <tuple>

#include "common/atomic_write.h"
#include "common/clock.h"
#include "common/error.h"
#include "experiments/pipeline/cell_stage.h"
#include "experiments/pipeline/final_training.h"
#include "export/model_export.h"
#include "search/cell/cell_search.h"
#include "search/driver/latency_source.h"
#include "search/driver/search_driver.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"
#include "space/builtin_archs.h"
#include "space/search_space.h"
#include "trainer/data/load_dataset.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/train/train_artifacts.h"
#include "trainer/train/train_model.h"

namespace frostnas {

namespace fs = std::filesystem;
namespace {

bool stopped(const PipelineHooks& hooks) { return hooks.stop && hooks.stop->load(); }

class StageLog {
 public:
  StageLog(Store& store, int64_t id, const PipelineHooks& hooks)
      : store_(store), id_(id), hooks_(hooks) {}
  void operator()(const std::string& message) const {
    store_.log_event(id_, EventLevel::kInfo, message);
    if (hooks_.log) hooks_.log(message);
  }

 private:
  Store& store_;
  int64_t id_;
  const PipelineHooks& hooks_;
};

bool stage_done(const Store& store, int64_t id, const std::string& name) {
  const auto s = store.get_stage(id, name);
  return s && (s->status == StageStatus::kDone || s->status == StageStatus::kSkipped);
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

/// INT8 and FP32 latency of a saved final model under the table's protocol (in a group with
/// sampled networks of the space): by the hook in a fresh process when the CLI provides one.
NetTiming time_final_model(const std::function<BuiltNet()>& built_net, const fs::path& dir,
                           const PipelineConfig& config, const PipelineHooks& hooks) {
  const fs::path space_json = dir.parent_path() / "space.json";
  if (!fs::exists(space_json))
    atomic_write(space_json.string(), to_json(config.search.space).dump(1) + "\n");
  if (hooks.time_saved_model)
    return hooks.time_saved_model(dir.string(), space_json.string(), config.measure, config.seed);
  const BuiltNet built = built_net();
  const int previous_threads = torch::get_num_threads();
  apply_thread_settings(config.measure.threads);
  TimingOptions timing;
  timing.warmup = config.measure.warmup;
  timing.rounds = config.measure.rounds;
  timing.seed = config.seed;
  const NetTiming t =
      time_with_companions(
          {built}, calibration_networks(config.search.space, kNetworkGroup - 1, kCalibrationSeed),
          config.search.latency.engine, timing, kCalibrationSeed + config.seed)
          .front();
  apply_thread_settings(previous_threads);
  return t;
}

/// The store's result and the comparison's entry of a final model trained as `e` says,
/// its latency measured by `timing` when it was saved.
Trained measured_model(const NetSpec& net, int64_t candidate_id, const Evaluation& e,
                       const std::function<NetTiming()>& timing) {
  Trained out;
  out.model.name = net.name;
  out.model.candidate_id = candidate_id;
  out.result.candidate_id = candidate_id;
  out.result.train_seconds = e.train_seconds;
  out.model.train_seconds = e.train_seconds;
  if (e.failed) {
    out.result.status = CandidateStatus::kFailed;
    out.result.error = e.error;
    return out;
  }
  const NetTiming t = timing();
  out.result.status = CandidateStatus::kDone;
  out.result.int8_acc = e.int8_acc;
  out.result.qat_acc = e.qat_acc;
  out.result.fp32_acc = e.fp32_acc;
  out.result.measured_latency_ms = t.int8.median_ms;
  out.model.int8_acc = e.int8_acc;
  out.model.qat_acc = e.qat_acc;
  out.model.fp32_acc = e.fp32_acc;
  out.model.int8_ms = t.int8.median_ms;
  out.model.fp32_ms = t.fp32.median_ms;
  return out;
}

/// Trains `net` from scratch with `train` in this process, saves it under `save_dir`
/// (train_final_model) and measures INT8 and FP32 latency end to end.
Trained train_and_measure(const NetSpec& net, const DataSplits& data, const TrainConfig& train,
                          const PipelineConfig& config, int64_t candidate_id,
                          const PipelineHooks& hooks, const std::string& save_dir) {
  TrainCallbacks callbacks = hooks.train;
  callbacks.stop_flag = hooks.stop;
  const SavedFinalModel saved = train_final_model(net, data, train, config, callbacks, save_dir);
  if (saved.interrupted) {
    Trained out;
    out.interrupted = true;
    return out;
  }
  return measured_model(net, candidate_id, saved.evaluation, [&] {
    return time_final_model(
        [&] {
          BuiltNet built;
          built.spec = net;
          built.int8 = saved.int8;
          built.fp32 = saved.fp32;
          built.input = torch::rand({1, net.in_channels, net.input_size, net.input_size});
          return built;
        },
        save_dir, config, hooks);
  });
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

DataSplits retrain_data(const PipelineConfig& config) {
  const SearchSpace& space = config.search.space;
  return make_splits(for_network_input(config.retrain.data, space.input_size, space.in_channels),
                     config.seed, /*with_test=*/true, "pipeline: $.retrain.data");
}

namespace {

/// Everything one pipeline run holds across its stages.
struct PipelineRun {
  PipelineRun(const PipelineConfig& c, Store& st, const PipelineHooks& h, int64_t experiment)
      : config(c),
        store(st),
        hooks(h),
        id(experiment),
        log(st, experiment, h),
        prefix("pipeline-" + std::to_string(experiment) + "-") {}

  const PipelineConfig& config;
  Store& store;
  const PipelineHooks& hooks;
  int64_t id;
  StageLog log;
  std::string prefix;  ///< of the names of the pipeline's own sub-experiments
  SearchConfig search;
  std::optional<int64_t> final_id;
  std::optional<DataSplits> final_data;
  std::string message;  ///< why the run stopped, when not on request (PipelineSummary)

  const DataSplits& data() {
    if (!final_data) final_data = retrain_data(config);
    return *final_data;
  }
  void save_models(const std::string& stage, const std::vector<FinalModel>& models,
                   StageStatus status) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : models) list.push_back(to_json(m));
    store.set_stage(id, stage, status, {{"experiment_id", *final_id}, {"models", list}});
  }
};

/// Creates the pipeline experiment with its stages pending, or reopens the resumed one.
int64_t open_pipeline(const PipelineConfig& config, Store& store,
                      std::optional<int64_t> resume_id) {
  if (resume_id) {
    const ExperimentRecord exp = store.get_experiment(*resume_id);
    if (exp.kind != "pipeline") {
      throw InputError("--resume " + std::to_string(*resume_id) + ": experiment is a " + exp.kind +
                       ", not a pipeline (see frostnas runs)");
    }
    store.set_experiment_status(exp.id, ExperimentStatus::kRunning);
    return exp.id;
  }
  ExperimentRecord e;
  e.kind = "pipeline";
  e.name = config.name;
  e.config = config.to_json();
  e.seed = static_cast<int64_t>(config.seed);
  const int64_t id = store.create_experiment(e).id;
  for (const auto& s : pipeline_stage_names()) store.set_stage(id, s, StageStatus::kPending);
  return id;
}

/// (1) The latency table of the macro space (incremental: entries are reused).
void latency_stage(PipelineRun& r) {
  if (stage_done(r.store, r.id, "latency")) return;
  r.store.set_stage(r.id, "latency", StageStatus::kRunning);
  const auto t = SteadyClock::now();
  make_latency_fn(r.search, r.store, r.hooks.latency_build);
  const double s = seconds_since(t);
  r.store.set_stage(r.id, "latency", StageStatus::kDone, {{"seconds", s}});
  r.log("stage latency: table of " + r.search.space.name + " ready in " + std::to_string(s) + " s");
}

/// (2) The cell search; its genotype becomes a block option of the macro space. Returns
/// false when interrupted.
bool cell_search_stage(PipelineRun& r, PipelineSummary& summary) {
  std::optional<Genotype> genotype;
  if (r.config.cell_search.is_null()) {
    if (!stage_done(r.store, r.id, "cell_search"))
      r.store.set_stage(r.id, "cell_search", StageStatus::kSkipped,
                        {{"reason", "no cell_search in the config"}});
  } else if (stage_done(r.store, r.id, "cell_search")) {
    const nlohmann::json res = stage_result(r.store, r.id, "cell_search");
    genotype = genotype_from_json(res.at("genotype"), r.store.path() + ": stage cell_search");
    summary.cell_experiment_id = res.at("experiment_id").get<int64_t>();
    summary.cell_evidence = stored_derivation_evidence(r.store, *summary.cell_experiment_id);
  } else {
    r.store.set_stage(r.id, "cell_search", StageStatus::kRunning);
    const PipelineCellResult cell =
        run_cell_stage(r.config.cell_search, r.config.cell_search_source, r.prefix + "cell",
                       r.config.seed, r.store, r.hooks.stop, r.hooks.progress);
    summary.cell_experiment_id = cell.experiment_id;
    if (cell.interrupted) return false;
    genotype = cell.genotype;
    r.store.set_stage(r.id, "cell_search", StageStatus::kDone,
                      {{"experiment_id", cell.experiment_id},
                       {"genotype", to_json(*genotype)},
                       {"seconds", cell.seconds}});
    summary.cell_evidence = cell.evidence;
    for (const auto& line : cell_stage_log_lines(cell)) r.log(line);
  }
  if (genotype) r.search.space = with_cell_option(r.search.space, *genotype);
  return true;
}

/// The search of stage 3, its candidates trained by the workers when there are any.
SearchSummary run_search_here_or_on_workers(PipelineRun& r, const LatencyFn& latency,
                                            std::optional<int64_t> search_id,
                                            const SearchHooks& sh) {
  if (r.hooks.workers)
    return run_search(r.search, r.store, *r.hooks.workers, latency, search_id, sh);
  torch::manual_seed(r.config.seed);
  TrainingEvaluator evaluator(search_data(r.search), r.search.train, r.hooks.stop);
  return run_search(r.search, r.store, evaluator, latency, search_id, sh);
}

/// (3) The RL search over Frost bottleneck variants (and the cell) with the INT8 target.
/// Returns false when interrupted.
bool search_stage(PipelineRun& r, PipelineSummary& summary) {
  const LatencyFn latency = make_latency_fn(r.search, r.store, r.hooks.latency_build);
  configure_runtime(r.search.train.threads);
  std::optional<int64_t> search_id = find_experiment(r.store, "search", r.search.name);
  summary.search_experiment_id = search_id;
  if (stage_done(r.store, r.id, "search")) return true;
  r.store.set_stage(
      r.id, "search", StageStatus::kRunning,
      search_id ? nlohmann::json{{"experiment_id", *search_id}} : nlohmann::json::object());
  SearchHooks sh;
  sh.stop = r.hooks.stop;
  sh.on_step = [&](const SearchStep& s) {
    if (!search_id) {
      search_id = s.candidate.experiment_id;
      r.store.set_stage(r.id, "search", StageStatus::kRunning, {{"experiment_id", *search_id}});
    }
    char line[160];
    std::snprintf(line, sizeof(line), "search [%lld/%lld] reward %.4f best %.4f",
                  static_cast<long long>(s.step), static_cast<long long>(s.total), s.reward,
                  s.best_reward);
    if (r.hooks.log) r.hooks.log(line);
  };
  const SearchSummary ss = run_search_here_or_on_workers(r, latency, search_id, sh);
  summary.search_experiment_id = ss.experiment_id;
  if (ss.interrupted) {
    if (ss.timed_out) r.message = ss.message;
    return false;
  }
  r.store.set_stage(r.id, "search", StageStatus::kDone,
                    {{"experiment_id", ss.experiment_id},
                     {"best_candidate", ss.best ? nlohmann::json(ss.best->id) : nlohmann::json()}});
  r.log("stage search: experiment " + std::to_string(ss.experiment_id) + ", " +
        std::to_string(ss.steps) + " proposals");
  return true;
}

/// The experiment that holds the retrained networks and the baselines.
int64_t open_final_experiment(PipelineRun& r) {
  if (auto found = find_experiment(r.store, kPipelineFinalKind, r.prefix + "final")) {
    const int64_t requeued = r.store.requeue_running(*found);
    if (requeued > 0)
      r.log(std::to_string(requeued) + " final model(s) left running by a crash re-queued");
    return *found;
  }
  ExperimentRecord e;
  e.kind = kPipelineFinalKind;
  e.name = r.prefix + "final";
  e.config = {{"pipeline", r.id},
              {"retrain", r.config.to_json().at("retrain")},
              {"measure", r.config.to_json().at("measure")}};
  e.seed = static_cast<int64_t>(r.config.seed);
  return r.store.create_experiment(e).id;
}

/// The entry of a model whose candidate finished before a kill cut off the stage update
/// (its FP32 latency was not stored with the candidate).
FinalModel model_from_candidate(const CandidateRecord& c, const NetSpec& net,
                                const std::string& group) {
  FinalModel m;
  m.group = group;
  m.name = net.name;
  m.candidate_id = c.id;
  m.int8_acc = c.int8_acc.value_or(std::nan(""));
  m.qat_acc = c.qat_acc.value_or(std::nan(""));
  m.fp32_acc = c.fp32_acc.value_or(std::nan(""));
  m.int8_ms = c.measured_latency_ms.value_or(std::nan(""));
  m.fp32_ms = std::nan("");
  m.predicted_int8_ms = c.predicted_latency_ms;
  m.train_seconds = c.train_seconds.value_or(0.0);
  return m;
}

/// The candidate of `net` in the final experiment, added when new; nullopt when its model
/// is listed in `models` already or finished (a finished one not yet listed is added).
std::optional<CandidateRecord> candidate_to_train(PipelineRun& r, const NetSpec& net,
                                                  const std::string& group,
                                                  std::optional<double> predicted,
                                                  std::vector<FinalModel>& models) {
  auto existing = r.store.find_candidate_by_hash(*r.final_id, arch_hash(net));
  for (const auto& m : models)
    if (m.candidate_id == (existing ? existing->id : -1)) return std::nullopt;  // listed already
  if (existing && is_finished(existing->status)) {
    if (existing->status == CandidateStatus::kDone)
      models.push_back(model_from_candidate(*existing, net, group));
    return std::nullopt;
  }
  if (!existing) existing = r.store.add_candidate(*r.final_id, net, predicted);
  return existing;
}

/// Records a trained model: its candidate's result, a log line and, when done, its entry.
void record_model(PipelineRun& r, Trained t, const NetSpec& net, const std::string& group,
                  std::optional<double> predicted, std::vector<FinalModel>& models) {
  r.store.finish_candidate(t.result);
  t.model.group = group;
  t.model.predicted_int8_ms = predicted;
  if (t.result.status != CandidateStatus::kDone) {
    r.log(group + " " + net.name + " failed: " + t.result.error);
    return;
  }
  models.push_back(t.model);
  char line[200];
  std::snprintf(line, sizeof(line),
                "%s %s: int8 %.2f%% fp32 %.2f%% latency int8 %.3f ms fp32 %.3f ms", group.c_str(),
                net.name.c_str(), t.model.int8_acc, t.model.fp32_acc, t.model.int8_ms,
                t.model.fp32_ms);
  r.log(line);
}

/// Trains one model of a group in this process unless the final experiment already has
/// its result; returns false when interrupted.
bool run_model(PipelineRun& r, const NetSpec& net, const std::string& group,
               std::optional<double> predicted, std::vector<FinalModel>& models) {
  const auto candidate = candidate_to_train(r, net, group, predicted, models);
  if (!candidate) return true;
  r.store.mark_running(candidate->id);
  r.log("training " + group + " " + net.name + " (candidate " + std::to_string(candidate->id) +
        ")");
  Trained t = train_and_measure(net, r.data(), r.config.retrain.train, r.config, candidate->id,
                                r.hooks, pipeline_model_dir(r.store, r.id, net.name));
  if (t.interrupted) {
    r.store.release_candidate(candidate->id);  // stopped on request: not an attempt
    return false;
  }
  record_model(r, std::move(t), net, group, predicted, models);
  return true;
}

/// The models stage `stage` recorded so far.
std::vector<FinalModel> recorded_models(const PipelineRun& r, const std::string& stage) {
  std::vector<FinalModel> models;
  const nlohmann::json res = stage_result(r.store, r.id, stage);
  for (const auto& m : res.value("models", nlohmann::json::array()))
    models.push_back(final_model_from_json(m));
  return models;
}

/// The models of a stage to train: architecture, group and predicted INT8 latency.
using FinalTodo = std::vector<std::tuple<NetSpec, std::string, std::optional<double>>>;

/// The final models of `todo` still to train, as tasks for the workers (`index`: each
/// task's entry in `todo`); one whose kMaxAttempts attempts killed their worker is
/// recorded failed instead.
std::vector<TaskMessage> final_tasks(PipelineRun& r, const FinalTodo& todo,
                                     std::vector<FinalModel>& models, std::vector<size_t>& index) {
  std::vector<TaskMessage> tasks;
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto& [net, group, predicted] = todo[i];
    const auto c = candidate_to_train(r, net, group, predicted, models);
    if (!c) continue;
    if (c->attempts >= kMaxAttempts) {
      Evaluation e;
      e.failed = true;
      e.error = "killed its worker " + std::to_string(c->attempts) + " times (last on worker " +
                std::to_string(c->worker.value_or(0)) + ")";
      record_model(r, measured_model(net, c->id, e, {}), net, group, predicted, models);
      continue;
    }
    const TrainConfig& train = r.config.retrain.train;
    tasks.push_back(TaskMessage{c->id, c->seq, c->attempts + 1, to_json(net), train.seed,
                                to_json(train), kJobFinal});
    index.push_back(i);
  }
  return tasks;
}

/// Trains `todo` on the workers: each final model is marked running with its worker
/// before it is sent, its returned files are written into its folder as they come, and
/// once the workers are done (or stopped) the models are timed here and recorded in
/// order. False when interrupted: models without a result are queued again, except
/// those a silent worker holds, which stay running so that a resume counts the attempt.
bool train_group_on_workers(PipelineRun& r, const std::string& stage, const FinalTodo& todo,
                            std::vector<FinalModel>& models) {
  r.save_models(stage, models, StageStatus::kRunning);
  std::vector<size_t> index;
  const std::vector<TaskMessage> tasks = final_tasks(r, todo, models, index);
  std::vector<std::optional<Evaluation>> results(tasks.size());
  TaskCallbacks callbacks;
  callbacks.on_start = [&](size_t t, int64_t worker) {
    r.store.mark_running(tasks[t].candidate_id, worker);
    const auto& [net, group, predicted] = todo[index[t]];
    r.log("training " + group + " " + net.name + " (candidate " +
          std::to_string(tasks[t].candidate_id) + ") on worker " + std::to_string(worker));
  };
  callbacks.on_result = [&](size_t t, const ResultMessage& m) {
    const std::string& name = std::get<0>(todo[index[t]]).name;
    if (!m.evaluation.failed)
      write_saved_files(m.files, pipeline_model_dir(r.store, r.id, name), "final model " + name);
    results[t] = m.evaluation;
  };
  const DispatchOutcome outcome = r.hooks.workers->run_tasks(tasks, callbacks);
  for (size_t t = 0; t < tasks.size() && !stopped(r.hooks); ++t) {
    if (!results[t]) continue;
    const auto& [net, group, predicted] = todo[index[t]];
    const std::string dir = pipeline_model_dir(r.store, r.id, net.name);
    const auto load = [&] { return load_built_net(dir, r.config.seed); };
    record_model(r,
                 measured_model(net, tasks[t].candidate_id, *results[t],
                                [&] { return time_final_model(load, dir, r.config, r.hooks); }),
                 net, group, predicted, models);
    r.save_models(stage, models, StageStatus::kRunning);
  }
  if (outcome.status == DispatchStatus::kDone && !stopped(r.hooks)) {
    r.save_models(stage, models, StageStatus::kDone);
    return true;
  }
  for (size_t t = 0; t < tasks.size(); ++t) {
    const bool stuck =
        std::find(outcome.stuck.begin(), outcome.stuck.end(), t) != outcome.stuck.end();
    const int64_t id = tasks[t].candidate_id;
    if (!stuck && r.store.get_candidate(id).status == CandidateStatus::kRunning)
      r.store.release_candidate(id);
  }
  if (outcome.status == DispatchStatus::kTimedOut) r.message = outcome.message;
  return false;
}

/// Trains `todo` into stage `stage`'s models, recording after each; false when interrupted.
bool train_group(PipelineRun& r, const std::string& stage, const FinalTodo& todo,
                 std::vector<FinalModel>& models) {
  if (r.hooks.workers) return train_group_on_workers(r, stage, todo, models);
  r.save_models(stage, models, StageStatus::kRunning);
  for (const auto& [net, group, predicted] : todo) {
    const bool done = run_model(r, net, group, predicted, models);
    r.save_models(stage, models, StageStatus::kRunning);
    if (!done) return false;
  }
  r.save_models(stage, models, StageStatus::kDone);
  return true;
}

/// (4, 5) The top k of the search, retrained from scratch; false when interrupted.
bool retrain_stage(PipelineRun& r, const PipelineSummary& summary, std::vector<FinalModel>& found) {
  found = recorded_models(r, "retrain");
  if (stage_done(r.store, r.id, "retrain")) return true;
  FinalTodo todo;
  int rank = 0;
  for (const auto& c :
       r.store.top_candidates(*summary.search_experiment_id, r.config.retrain.top_k)) {
    NetSpec net =
        net_spec_from_json(c.arch, r.store.path() + ": candidate " + std::to_string(c.id));
    net.name = "found-" + std::to_string(++rank);
    todo.emplace_back(net, "found", c.predicted_latency_ms);
  }
  return train_group(r, "retrain", todo, found);
}

/// The MobileNet-like widths whose untrained INT8 latency comes closest to each found
/// network's.
std::vector<NetSpec> matching_mobilenets(PipelineRun& r, const std::vector<FinalModel>& found) {
  std::vector<NetSpec> grid;
  for (double w : r.config.baselines.mobilenet_widths)
    grid.push_back(mobilenet_like(r.search.space, w));
  apply_thread_settings(r.config.measure.threads);
  TimingOptions timing;
  timing.warmup = r.config.measure.warmup;
  timing.rounds = r.config.measure.rounds;
  timing.seed = r.config.seed;
  const auto timings = measure_networks(grid, r.search.latency.engine, timing, r.config.seed);
  configure_runtime(r.search.train.threads);
  std::map<size_t, bool> chosen;
  for (const auto& f : found) {
    size_t best = 0;
    for (size_t i = 1; i < grid.size(); ++i)
      if (std::abs(timings[i].int8.median_ms - f.int8_ms) <
          std::abs(timings[best].int8.median_ms - f.int8_ms))
        best = i;
    chosen[best] = true;
  }
  std::vector<NetSpec> out;
  for (const auto& [i, unused] : chosen) out.push_back(grid[i]);
  return out;
}

/// (6) The official FrostNets and the matching MobileNet-like baselines; false when
/// interrupted.
bool baselines_stage(PipelineRun& r, const std::vector<FinalModel>& found,
                     std::vector<FinalModel>& baselines) {
  baselines = recorded_models(r, "baselines");
  if (stage_done(r.store, r.id, "baselines")) return true;
  FinalTodo todo;
  for (const auto& name : r.config.baselines.frostnet) {
    NetSpec net = adapt_spec_to_data(builtin_arch(name), r.data().train, r.search.space.input_size);
    net.name = name;
    todo.emplace_back(net, "frostnet", std::nullopt);
  }
  if (!r.config.baselines.mobilenet_widths.empty() && !found.empty()) {
    for (const auto& net : matching_mobilenets(r, found))
      todo.emplace_back(net, "mobilenet", std::nullopt);
  }
  return train_group(r, "baselines", todo, baselines);
}

}  // namespace

PipelineSummary run_pipeline(const PipelineConfig& config, Store& store,
                             std::optional<int64_t> resume_id, const PipelineHooks& hooks) {
  const auto t0 = SteadyClock::now();
  PipelineSummary summary;
  PipelineRun r(config, store, hooks, open_pipeline(config, store, resume_id));
  summary.experiment_id = r.id;
  r.search = config.search;
  r.search.name = r.prefix + "search";
  r.search.seed = config.seed;
  auto interrupted = [&]() {
    store.set_experiment_status(r.id, ExperimentStatus::kInterrupted);
    summary.interrupted = true;
    summary.message = r.message;
    summary.seconds = seconds_since(t0);
    return summary;
  };

  latency_stage(r);
  if (stopped(hooks) || !cell_search_stage(r, summary) || stopped(hooks)) return interrupted();
  if (!search_stage(r, summary) || stopped(hooks)) return interrupted();
  r.final_id = open_final_experiment(r);
  summary.final_experiment_id = r.final_id;
  std::vector<FinalModel> found, baselines;
  if (!retrain_stage(r, summary, found) || stopped(hooks)) return interrupted();
  if (!baselines_stage(r, found, baselines)) return interrupted();

  summary.models = found;
  summary.models.insert(summary.models.end(), baselines.begin(), baselines.end());
  store.set_experiment_status(*r.final_id, ExperimentStatus::kDone);
  store.set_experiment_status(r.id, ExperimentStatus::kDone);
  summary.seconds = seconds_since(t0);
  r.log("pipeline done");
  return summary;
}

std::string pipeline_model_dir(const Store& store, int64_t pipeline_id, const std::string& name) {
  return (fs::path(store.path() + ".d") / "pipeline" / std::to_string(pipeline_id) / name).string();
}

}  // namespace frostnas
