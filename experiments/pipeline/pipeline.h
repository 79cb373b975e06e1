#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/pipeline/pipeline_config.h"
#include "search/cell/derivation.h"
#include "search/driver/dispatcher.h"
#include "search/driver/latency_source.h"
#include "search/latency/lut_measurer.h"
#include "search/store/store.h"

namespace frostnas {

/// The recorded stages of a pipeline experiment, in order.
/// latency (1), cell_search (2), search (3), retrain (4 + 5), baselines (6).
const std::vector<std::string>& pipeline_stage_names();

/// The kind of the experiment that holds the retrained networks and the baselines.
constexpr const char* kPipelineFinalKind = "pipeline-final";

/// A network of the final comparison: a retrained found architecture or a baseline,
/// trained with the same configuration, scored on the test set, measured end to end.
struct FinalModel {
  std::string group;  ///< "found", "frostnet" or "mobilenet"
  std::string name;
  int64_t candidate_id = 0;                              ///< in the pipeline's final experiment
  double int8_acc = 0.0, qat_acc = 0.0, fp32_acc = 0.0;  ///< test accuracy, percent
  double int8_ms = 0.0, fp32_ms = 0.0;                   ///< measured, batch 1
  std::optional<double> predicted_int8_ms;  ///< from the table, where it has the blocks
  double train_seconds = 0.0;
};
nlohmann::json to_json(const FinalModel& m);
FinalModel final_model_from_json(const nlohmann::json& j);

struct PipelineHooks {
  const std::atomic<bool>* stop = nullptr;      ///< polled between and inside stages
  std::function<void(const std::string&)> log;  ///< one line per event (also stored)
  /// Progress lines that are not stored (the cell search's epochs); unset: none.
  std::function<void(const std::string&)> progress;
  /// Progress of the final models' training runs (its stop_flag is replaced by `stop`).
  TrainCallbacks train;
  /// Progress of the latency table's build.
  LatencyBuildCallbacks latency_build;
  /// Times a saved final model (the directory of pipeline_model_dir, with the space's
  /// JSON written beside it as `space_json`) under the table's protocol. The CLI runs
  /// `frostnas lut time` in a fresh process: timed inside the process that had just
  /// trained it, frostnet-small-1.0 took 1.84 ms against 0.85 ms in a fresh one.
  /// Unset: timed in this process with time_with_companions (tests).
  std::function<NetTiming(const std::string& model_dir, const std::string& space_json,
                          const MeasureConfig& measure, uint64_t seed)>
      time_saved_model;
  /// Set (MPI rank 0, search/mpi): the search stage's candidates and the final models are
  /// trained by these workers, greeted with pipeline_worker_greeting; each final model's
  /// saved files come back in its result and are written and timed here. Unset: all here.
  RemoteDispatcher* workers = nullptr;
};

struct PipelineSummary {
  int64_t experiment_id = 0;
  std::optional<int64_t> cell_experiment_id, search_experiment_id, final_experiment_id;
  /// Which edges of the found cell its search decided (empty without a cell search).
  std::optional<DerivationEvidence> cell_evidence;
  std::vector<FinalModel> models;
  bool interrupted = false;
  /// Why an interrupted run stopped when it was not a stop request (a worker that missed
  /// its deadline), one line; empty otherwise.
  std::string message;
  double seconds = 0.0;  ///< this run's wall time
};

/// Runs (or, with `resume_id`, continues with the configuration it was started with) a
/// reproduction pipeline. Every stage is recorded (Store::set_stage) with its result;
/// a killed run resumes at the stage where it stopped, and inside the searches at the
/// epoch / candidate where they stopped; finished final models are not retrained, and
/// final models left running by a crash are queued again.
/// The images the final models train on (make_splits of `retrain.data` with the pipeline's
/// seed, test set included); the search stage uses search_data(config.search).
DataSplits retrain_data(const PipelineConfig& config);

PipelineSummary run_pipeline(const PipelineConfig& config, Store& store,
                             std::optional<int64_t> resume_id, const PipelineHooks& hooks);

/// Where run_pipeline saves the final model `name` of pipeline `pipeline_id`:
/// `<db>.d/pipeline/<id>/<name>/` with `int8/` (the artifact `frostnas eval --model`
/// loads), the float checkpoint `qat.pt` and `arch.json`.
std::string pipeline_model_dir(const Store& store, int64_t pipeline_id, const std::string& name);

}  // namespace frostnas
