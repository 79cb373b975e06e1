#include "search/store/records.h"

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
          {"status", r.status},
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
          {"status", r.status},
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
          {"level", r.level},
          {"message", r.message}};
}

nlohmann::json to_json(const StageRecord& r) {
  return {{"experiment_id", r.experiment_id},
          {"name", r.name},
          {"status", r.status},
          {"result", r.result},
          {"updated_at", r.updated_at}};
}

}  // namespace frostnas
