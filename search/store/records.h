#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frostnas {

/// Plain value types of the experiment store (search/store/store.h). Timestamps are
/// UTC ISO-8601 strings (`2024-05-01T12:34:56.789Z`) filled in by the store.

/// Allowed experiment statuses: running, done, failed, interrupted.
const std::vector<std::string>& experiment_statuses();
/// Allowed candidate statuses: queued, running, done, failed.
const std::vector<std::string>& candidate_statuses();
/// Allowed pipeline stage statuses: pending, running, done, failed, skipped.
const std::vector<std::string>& stage_statuses();
/// Allowed event levels: debug, info, warning, error.
const std::vector<std::string>& event_levels();

/// One experiment: a search, a cell search or a pipeline run.
struct ExperimentRecord {
  int64_t id = 0;
  std::string kind;  ///< "search", "cell_search", "pipeline", "pipeline-final"
  std::string name;
  nlohmann::json config = nlohmann::json::object();
  int64_t seed = 0;
  std::string status = "running";
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
  std::string status = "queued";
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
  std::string status = "done";  ///< done or failed
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
  std::string level = "info";
  std::string message;
};

/// The state of one named stage of a pipeline experiment.
struct StageRecord {
  int64_t experiment_id = 0;
  std::string name;
  std::string status = "pending";
  nlohmann::json result = nlohmann::json::object();
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

}  // namespace frostnas
