#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frostnas {

/// Plain value types of the experiment store (search/store/store.h). Timestamps are
/// UTC ISO-8601 strings (`2024-05-01T12:34:56.789Z`) filled in by the store.

/// The state of an experiment.
enum class ExperimentStatus { kRunning, kDone, kFailed, kInterrupted };
/// The state of a candidate; a finished one (CandidateResult) is kDone or kFailed.
enum class CandidateStatus { kQueued, kRunning, kDone, kFailed };
/// The state of a pipeline stage.
enum class StageStatus { kPending, kRunning, kDone, kFailed, kSkipped };
/// The severity of an event log line.
enum class EventLevel { kDebug, kInfo, kWarning, kError };
/// The state of one run of a study: running (also after a kill), done or failed (diverged).
enum class StudyRunStatus { kRunning, kDone, kFailed };

/// True for the statuses of a finished candidate: kDone and kFailed.
inline bool is_finished(CandidateStatus status) {
  return status == CandidateStatus::kDone || status == CandidateStatus::kFailed;
}

/// Allowed experiment statuses, in enum order: running, done, failed, interrupted.
const std::vector<std::string>& experiment_statuses();
/// Allowed candidate statuses, in enum order: queued, running, done, failed.
const std::vector<std::string>& candidate_statuses();
/// Allowed pipeline stage statuses, in enum order: pending, running, done, failed, skipped.
const std::vector<std::string>& stage_statuses();
/// Allowed event levels, in enum order: debug, info, warning, error.
const std::vector<std::string>& event_levels();
/// Allowed study run statuses, in enum order: running, done, failed.
const std::vector<std::string>& study_run_statuses();

/// The stored (and printed) text of a status or level, e.g. "interrupted".
std::string to_string(ExperimentStatus status);
/// The stored text of a candidate status, e.g. "queued".
std::string to_string(CandidateStatus status);
/// The stored text of a stage status, e.g. "skipped".
std::string to_string(StageStatus status);
/// The stored text of an event level, e.g. "warning".
std::string to_string(EventLevel level);
/// The stored text of a study run status, e.g. "done".
std::string to_string(StudyRunStatus status);

/// Parses the text of an experiment status. Throws InputError with one line,
/// `<what>: "<text>" is not an experiment status (allowed: running, ...)`, where
/// `what` names the source (a database path and column, a command line flag).
ExperimentStatus parse_experiment_status(const std::string& text, const std::string& what);
/// Parses the text of a candidate status; InputError as parse_experiment_status.
CandidateStatus parse_candidate_status(const std::string& text, const std::string& what);
/// Parses the text of a stage status; InputError as parse_experiment_status.
StageStatus parse_stage_status(const std::string& text, const std::string& what);
/// Parses the text of an event level; InputError as parse_experiment_status.
EventLevel parse_event_level(const std::string& text, const std::string& what);
/// Parses the text of a study run status; InputError as parse_experiment_status.
StudyRunStatus parse_study_run_status(const std::string& text, const std::string& what);

/// One experiment: a search, a cell search or a pipeline run.
struct ExperimentRecord {
  int64_t id = 0;
  std::string kind;  ///< "search", "cell_search", "pipeline", "pipeline-final", "study"
  std::string name;
  nlohmann::json config = nlohmann::json::object();
  int64_t seed = 0;
  ExperimentStatus status = ExperimentStatus::kRunning;
  std::string program_version;
  std::string created_at;
  std::string updated_at;
};

/// One sampled architecture of an experiment and its results.
struct CandidateRecord {
  int64_t id = 0;
  int64_t experiment_id = 0;
  int64_t seq = 0;  ///< 1, 2, ... in order of addition within the experiment
  nlohmann::json arch;
  std::string arch_hash;
  CandidateStatus status = CandidateStatus::kQueued;
  std::optional<double> fp32_acc;
  std::optional<double> qat_acc;
  std::optional<double> int8_acc;
  std::optional<double> predicted_latency_ms;
  std::optional<double> measured_latency_ms;
  std::optional<double> reward;
  std::optional<double> train_seconds;
  std::string error;
  std::optional<int64_t> worker;  ///< who evaluated it last (0: this process; MPI rank)
  int64_t attempts = 0;           ///< evaluations started (a crash leaves one counted)
  std::string created_at;
  std::string updated_at;
};

/// The outcome of training and measuring one candidate. Unset metrics are stored
/// as NULL, except `predicted_latency_ms`, which keeps the value given at creation.
struct CandidateResult {
  int64_t candidate_id = 0;
  CandidateStatus status = CandidateStatus::kDone;  ///< kDone or kFailed
  std::optional<double> fp32_acc;
  std::optional<double> qat_acc;
  std::optional<double> int8_acc;
  std::optional<double> predicted_latency_ms;
  std::optional<double> measured_latency_ms;
  std::optional<double> reward;
  std::optional<double> train_seconds;
  std::string error;  ///< why it failed; empty when done
};

/// The search strategy's state after a step: a JSON document plus optional binary
/// data (a serialized torch module). One per experiment; `step` only increases.
struct StrategyState {
  int64_t experiment_id = 0;
  int64_t step = 0;
  nlohmann::json state = nlohmann::json::object();
  std::string blob;  ///< raw bytes, may be empty
  std::string updated_at;
};

/// The machine a latency entry was measured on.
struct Fingerprint {
  int64_t id = 0;
  std::string cpu_model;
  int64_t cores = 0;
  std::string engine;  ///< quantized engine, e.g. "fbgemm", "qnnpack"
  int64_t threads = 0;
  std::string torch_version;
  std::string text;  ///< free-form description (flags, governor, ...)
};

/// One measured latency of a lookup-table key (a canonical block string).
struct LatencyEntry {
  int64_t fingerprint_id = 0;
  std::string key;
  std::string precision;  ///< "fp32", "int8", ...
  double median_ms = 0.0;
  double spread_ms = 0.0;  ///< interquartile range
  int64_t samples = 0;
  std::string measured_at;
};

/// The architecture weights (alphas) of a cell search after one epoch.
struct ArchWeightsRecord {
  int64_t experiment_id = 0;
  int64_t stage = 0;
  int64_t epoch = 0;
  nlohmann::json weights;
  std::string created_at;
};

/// One line of an experiment's event log.
struct EventRecord {
  int64_t id = 0;
  int64_t experiment_id = 0;
  std::string time;
  EventLevel level = EventLevel::kInfo;
  std::string message;
};

/// The state of one named stage of a pipeline experiment.
struct StageRecord {
  int64_t experiment_id = 0;
  std::string name;
  StageStatus status = StageStatus::kPending;
  nlohmann::json result = nlohmann::json::object();
  std::string updated_at;
};

/// One (variant, seed) run of a study experiment.
struct StudyRunRecord {
  int64_t experiment_id = 0;
  std::string variant;
  int64_t seed = 0;
  StudyRunStatus status = StudyRunStatus::kRunning;
  /// What the run measured, e.g. {"int8_acc": 81.2, "fp32_acc": 82.0, ...}; {} while running.
  nlohmann::json metrics = nlohmann::json::object();
  double wall_s = 0;  ///< wall time of the whole run (data, training, evaluation)
  std::string error;  ///< why a failed run failed
  std::string updated_at;
};

/// JSON for the command line's `--json` output (optional values become null;
/// a strategy blob is reported by its size only).
nlohmann::json to_json(const ExperimentRecord& r);
nlohmann::json to_json(const CandidateRecord& r);
nlohmann::json to_json(const StrategyState& r);
nlohmann::json to_json(const Fingerprint& r);
nlohmann::json to_json(const LatencyEntry& r);
nlohmann::json to_json(const ArchWeightsRecord& r);
nlohmann::json to_json(const EventRecord& r);
nlohmann::json to_json(const StageRecord& r);
nlohmann::json to_json(const StudyRunRecord& r);

}  // namespace frostnas
