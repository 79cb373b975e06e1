#include "search/store/records.h"

#include <algorithm>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

const std::vector<std::string>& experiment_statuses() {
  static const std::vector<std::string> v{"running", "done", "failed", "interrupted"};
  return v;
}

const std::vector<std::string>& candidate_statuses() {
  static const std::vector<std::string> v{"queued", "running", "done", "failed"};
  return v;
}

const std::vector<std::string>& stage_statuses() {
  static const std::vector<std::string> v{"pending", "running", "done", "failed", "skipped"};
  return v;
}

const std::vector<std::string>& event_levels() {
  static const std::vector<std::string> v{"debug", "info", "warning", "error"};
  return v;
}

const std::vector<std::string>& study_run_statuses() {
  static const std::vector<std::string> v{"running", "done", "failed"};
  return v;
}

namespace {

/// The text of enum value `value`: its entry in `names` (which lists them in enum order).
template <typename Enum>
std::string name_of(Enum value, const std::vector<std::string>& names) {
  return names.at(static_cast<size_t>(value));
}

/// The enum value whose entry in `names` is `text`; InputError naming `what` and `names`.
template <typename Enum>
Enum parse_name(const std::string& text, const std::vector<std::string>& names, const char* kind,
                const std::string& what) {
  const auto it = std::find(names.begin(), names.end(), text);
  if (it == names.end()) {
    throw InputError(what + ": \"" + text + "\" is not " + kind +
                     " (allowed: " + join_strings(names) + ")");
  }
  return static_cast<Enum>(it - names.begin());
}

}  // namespace

std::string to_string(ExperimentStatus status) { return name_of(status, experiment_statuses()); }
std::string to_string(CandidateStatus status) { return name_of(status, candidate_statuses()); }
std::string to_string(StageStatus status) { return name_of(status, stage_statuses()); }
std::string to_string(EventLevel level) { return name_of(level, event_levels()); }
std::string to_string(StudyRunStatus status) { return name_of(status, study_run_statuses()); }

ExperimentStatus parse_experiment_status(const std::string& text, const std::string& what) {
  return parse_name<ExperimentStatus>(text, experiment_statuses(), "an experiment status", what);
}

CandidateStatus parse_candidate_status(const std::string& text, const std::string& what) {
  return parse_name<CandidateStatus>(text, candidate_statuses(), "a candidate status", what);
}

StageStatus parse_stage_status(const std::string& text, const std::string& what) {
  return parse_name<StageStatus>(text, stage_statuses(), "a stage status", what);
}

EventLevel parse_event_level(const std::string& text, const std::string& what) {
  return parse_name<EventLevel>(text, event_levels(), "an event level", what);
}

StudyRunStatus parse_study_run_status(const std::string& text, const std::string& what) {
  return parse_name<StudyRunStatus>(text, study_run_statuses(), "a study run status", what);
}

namespace {
nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json to_json(const ExperimentRecord& r) {
  return {{"id", r.id},
          {"kind", r.kind},
          {"name", r.name},
          {"config", r.config},
          {"seed", r.seed},
          {"status", to_string(r.status)},
          {"program_version", r.program_version},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

nlohmann::json to_json(const CandidateRecord& r) {
  return {{"id", r.id},
          {"experiment_id", r.experiment_id},
          {"seq", r.seq},
          {"arch", r.arch},
          {"arch_hash", r.arch_hash},
          {"status", to_string(r.status)},
          {"fp32_acc", opt(r.fp32_acc)},
          {"qat_acc", opt(r.qat_acc)},
          {"int8_acc", opt(r.int8_acc)},
          {"predicted_latency_ms", opt(r.predicted_latency_ms)},
          {"measured_latency_ms", opt(r.measured_latency_ms)},
          {"reward", opt(r.reward)},
          {"train_seconds", opt(r.train_seconds)},
          {"error", r.error},
          {"worker", r.worker ? nlohmann::json(*r.worker) : nlohmann::json()},
          {"attempts", r.attempts},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

nlohmann::json to_json(const StrategyState& r) {
  return {{"experiment_id", r.experiment_id},
          {"step", r.step},
          {"state", r.state},
          {"blob_bytes", r.blob.size()},
          {"updated_at", r.updated_at}};
}

nlohmann::json to_json(const Fingerprint& r) {
  return {{"id", r.id},         {"cpu_model", r.cpu_model}, {"cores", r.cores},
          {"engine", r.engine}, {"threads", r.threads},     {"torch_version", r.torch_version},
          {"text", r.text}};
}

nlohmann::json to_json(const LatencyEntry& r) {
  return {{"fingerprint_id", r.fingerprint_id}, {"key", r.key},
          {"precision", r.precision},           {"median_ms", r.median_ms},
          {"spread_ms", r.spread_ms},           {"samples", r.samples},
          {"measured_at", r.measured_at}};
}

nlohmann::json to_json(const ArchWeightsRecord& r) {
  return {{"experiment_id", r.experiment_id},
          {"stage", r.stage},
          {"epoch", r.epoch},
          {"weights", r.weights},
          {"created_at", r.created_at}};
}

nlohmann::json to_json(const EventRecord& r) {
  return {{"id", r.id},
          {"experiment_id", r.experiment_id},
          {"time", r.time},
          {"level", to_string(r.level)},
          {"message", r.message}};
}

nlohmann::json to_json(const StageRecord& r) {
  return {{"experiment_id", r.experiment_id},
          {"name", r.name},
          {"status", to_string(r.status)},
          {"result", r.result},
          {"updated_at", r.updated_at}};
}

nlohmann::json to_json(const StudyRunRecord& r) {
  return {{"experiment_id", r.experiment_id},
          {"variant", r.variant},
          {"seed", r.seed},
          {"status", to_string(r.status)},
          {"metrics", r.metrics},
          {"wall_s", r.wall_s},
          {"error", r.error},
          {"updated_at", r.updated_at}};
}

}  // namespace frostnas
