#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "search/store/records.h"
#include "search/store/schema.h"
#include "space/net_spec.h"

namespace frostnas {

/// Where the command line keeps its experiments unless told otherwise.
constexpr const char* kDefaultStorePath = "runs/frostnas.sqlite";

/// The experiment store: one SQLite database file in WAL mode holding experiments,
/// candidates, strategy states, latency measurements, cell-search weights, event
/// logs, pipeline stages and study runs. Writes that belong together run in one transaction,
/// so a process killed at any moment leaves a consistent database.
///
/// Statuses and levels are enums (records.h), stored as their text; a stored text
/// that is not one of them is refused with InputError naming the database and the
/// column. Unknown ids throw InputError; calls out of order (finishing a
/// finished candidate, a strategy step that does not increase, a duplicate
/// architecture) throw std::logic_error and change nothing.
/// Database failures (disk full, a lock held past the busy timeout) throw
/// SQLite::Exception. One Store per thread; several processes may share a file.
class Store {
 public:
  /// Opens `path`, creating it (and its parent directories) when missing, and
  /// applies the missing migrations. A file that is not a frostnas database or has
  /// a newer schema version is refused with InputError and left untouched.
  explicit Store(std::string path = kDefaultStorePath);
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  const std::string& path() const { return path_; }
  /// The schema version of the open database (kStoreSchemaVersion).
  int schema_version() const;
  /// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`: "ok" or the problems.
  std::string integrity_check() const;

  /// Creates an experiment from `e`'s kind, name, config, seed and program version;
  /// returns it with id, status kRunning and timestamps.
  ExperimentRecord create_experiment(const ExperimentRecord& e);
  ExperimentRecord get_experiment(int64_t id) const;
  /// All experiments (of `kind` unless empty) by id.
  std::vector<ExperimentRecord> list_experiments(const std::string& kind = "") const;
  /// Sets the status of experiment `id` (InputError when it does not exist).
  void set_experiment_status(int64_t id, ExperimentStatus status);

  /// Adds a queued candidate with the next sequence number of the experiment.
  /// Throws std::logic_error when the experiment already has `hash`.
  CandidateRecord add_candidate(int64_t experiment_id, const nlohmann::json& arch,
                                const std::string& hash,
                                std::optional<double> predicted_latency_ms = std::nullopt);
  /// The same with `to_json(net)` and `arch_hash(net)`.
  CandidateRecord add_candidate(int64_t experiment_id, const NetSpec& net,
                                std::optional<double> predicted_latency_ms = std::nullopt);
  CandidateRecord get_candidate(int64_t id) const;
  std::optional<CandidateRecord> find_candidate_by_hash(int64_t experiment_id,
                                                        const std::string& hash) const;
  /// queued (or running, after a crash) -> running on `worker` (0: this process,
  /// else the MPI rank), counting one more attempt.
  void mark_running(int64_t candidate_id, int64_t worker = 0);
  /// running -> queued, uncounting the attempt: the evaluation was stopped on
  /// request (Ctrl-C), not by a crash.
  void release_candidate(int64_t candidate_id);
  /// Every running candidate of the experiment -> queued, attempts kept: what a
  /// crashed run left behind. Returns how many.
  int64_t requeue_running(int64_t experiment_id);
  /// queued or running -> result.status (kDone or kFailed, else std::logic_error)
  /// with the result's metrics.
  void finish_candidate(const CandidateResult& result);
  /// finish_candidate and save_strategy_state in ONE transaction: both or neither.
  void commit_result(const CandidateResult& result, const StrategyState& state);
  /// Candidates of an experiment (with `status` if given) by sequence number.
  std::vector<CandidateRecord> list_candidates(
      int64_t experiment_id, std::optional<CandidateStatus> status = std::nullopt) const;
  /// The `k` done candidates with the highest reward (ties: lower sequence first).
  std::vector<CandidateRecord> top_candidates(int64_t experiment_id, int64_t k) const;

  /// Replaces the experiment's strategy state; `state.step` must exceed the stored step.
  void save_strategy_state(const StrategyState& state);
  std::optional<StrategyState> load_strategy_state(int64_t experiment_id) const;

  /// The id of the fingerprint with these fields (id ignored), adding it when new.
  int64_t upsert_fingerprint(const Fingerprint& fp);
  std::vector<Fingerprint> list_fingerprints() const;
  /// Adds or replaces the entry (fingerprint, key, precision); fills measured_at if empty.
  void put_latency(const LatencyEntry& entry);
  /// put_latency for each entry, in one transaction.
  void put_latencies(const std::vector<LatencyEntry>& entries);
  /// The entry of the current kLatencyTableVersion, if any.
  std::optional<LatencyEntry> get_latency(int64_t fingerprint_id, const std::string& key,
                                          const std::string& precision) const;
  /// A fingerprint's entries of the current kLatencyTableVersion by key and precision.
  std::vector<LatencyEntry> list_latency(int64_t fingerprint_id) const;

  /// Stores (or replaces) the architecture weights of a cell search after an epoch.
  void add_arch_weights(int64_t experiment_id, int64_t stage, int64_t epoch,
                        const nlohmann::json& weights);
  /// By stage, then epoch.
  std::vector<ArchWeightsRecord> list_arch_weights(int64_t experiment_id) const;

  /// Appends a line to the experiment's event log.
  void log_event(int64_t experiment_id, EventLevel level, const std::string& message);
  /// In the order they were logged.
  std::vector<EventRecord> list_events(int64_t experiment_id) const;

  /// Adds or replaces the record of a pipeline stage.
  void set_stage(int64_t experiment_id, const std::string& name, StageStatus status,
                 const nlohmann::json& result = nlohmann::json::object());
  std::optional<StageRecord> get_stage(int64_t experiment_id, const std::string& name) const;
  /// By name.
  std::vector<StageRecord> list_stages(int64_t experiment_id) const;

  /// Adds or replaces the row of run (r.experiment_id, r.variant, r.seed) of a study;
  /// fills updated_at. InputError when the experiment does not exist.
  void put_study_run(const StudyRunRecord& r);
  /// The runs of a study by variant, then seed.
  std::vector<StudyRunRecord> list_study_runs(int64_t experiment_id) const;

 private:
  int64_t candidate_experiment(int64_t candidate_id) const;
  void write_result(const CandidateResult& result);
  void write_state(const StrategyState& state);
  void write_latency(const LatencyEntry& entry);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace frostnas
