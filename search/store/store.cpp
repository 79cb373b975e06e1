#include "search/store/store.h"

#include <chrono>
#include <ctime>
#include <filesystem>

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/Transaction.h>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

namespace {

constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kExperimentColumns =
    "SELECT id, kind, name, config, seed, status, program_version, created_at, updated_at "
    "FROM experiments ";
constexpr const char* kCandidateColumns =
    "SELECT id, experiment_id, seq, arch, arch_hash, status, fp32_acc, qat_acc, int8_acc, "
    "predicted_latency_ms, measured_latency_ms, reward, train_seconds, error, created_at, "
    "updated_at, worker, attempts FROM candidates ";
constexpr const char* kLatencyColumns =
    "SELECT fingerprint_id, key, precision, median_ms, spread_ms, samples, measured_at "
    "FROM latency ";
constexpr const char* kStageColumns =
    "SELECT experiment_id, name, status, result, updated_at FROM stages ";
constexpr const char* kStudyRunColumns =
    "SELECT experiment_id, variant, seed, status, metrics, wall_s, error, updated_at "
    "FROM study_runs ";

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", date, static_cast<int>(ms.count() % 1000));
  return out;
}

void bind_opt(SQLite::Statement& q, int index, const std::optional<double>& v) {
  if (v) {
    q.bind(index, *v);
  } else {
    q.bind(index);
  }
}

std::optional<double> opt(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<double>(c.getDouble());
}

nlohmann::json json_col(const SQLite::Column& c) { return nlohmann::json::parse(c.getString()); }

ExperimentRecord read_experiment(const SQLite::Statement& q, const std::string& path) {
  ExperimentRecord r;
  r.id = q.getColumn(0).getInt64();
  r.kind = q.getColumn(1).getString();
  r.name = q.getColumn(2).getString();
  r.config = json_col(q.getColumn(3));
  r.seed = q.getColumn(4).getInt64();
  r.status = parse_experiment_status(q.getColumn(5).getString(), path + ": experiments.status");
  r.program_version = q.getColumn(6).getString();
  r.created_at = q.getColumn(7).getString();
  r.updated_at = q.getColumn(8).getString();
  return r;
}

CandidateRecord read_candidate(const SQLite::Statement& q, const std::string& path) {
  CandidateRecord r;
  r.id = q.getColumn(0).getInt64();
  r.experiment_id = q.getColumn(1).getInt64();
  r.seq = q.getColumn(2).getInt64();
  r.arch = json_col(q.getColumn(3));
  r.arch_hash = q.getColumn(4).getString();
  r.status = parse_candidate_status(q.getColumn(5).getString(), path + ": candidates.status");
  r.fp32_acc = opt(q.getColumn(6));
  r.qat_acc = opt(q.getColumn(7));
  r.int8_acc = opt(q.getColumn(8));
  r.predicted_latency_ms = opt(q.getColumn(9));
  r.measured_latency_ms = opt(q.getColumn(10));
  r.reward = opt(q.getColumn(11));
  r.train_seconds = opt(q.getColumn(12));
  r.error = q.getColumn(13).getString();
  r.created_at = q.getColumn(14).getString();
  r.updated_at = q.getColumn(15).getString();
  if (!q.getColumn(16).isNull()) r.worker = q.getColumn(16).getInt64();
  r.attempts = q.getColumn(17).getInt64();
  return r;
}

std::vector<CandidateRecord> read_candidates(SQLite::Statement& q, const std::string& path) {
  std::vector<CandidateRecord> out;
  while (q.executeStep()) out.push_back(read_candidate(q, path));
  return out;
}

LatencyEntry read_latency(const SQLite::Statement& q) {
  LatencyEntry e;
  e.fingerprint_id = q.getColumn(0).getInt64();
  e.key = q.getColumn(1).getString();
  e.precision = q.getColumn(2).getString();
  e.median_ms = q.getColumn(3).getDouble();
  e.spread_ms = q.getColumn(4).getDouble();
  e.samples = q.getColumn(5).getInt64();
  e.measured_at = q.getColumn(6).getString();
  return e;
}

StageRecord read_stage(const SQLite::Statement& q, const std::string& path) {
  StageRecord r;
  r.experiment_id = q.getColumn(0).getInt64();
  r.name = q.getColumn(1).getString();
  r.status = parse_stage_status(q.getColumn(2).getString(), path + ": stages.status");
  r.result = json_col(q.getColumn(3));
  r.updated_at = q.getColumn(4).getString();
  return r;
}

StudyRunRecord read_study_run(const SQLite::Statement& q, const std::string& path) {
  StudyRunRecord r;
  r.experiment_id = q.getColumn(0).getInt64();
  r.variant = q.getColumn(1).getString();
  r.seed = q.getColumn(2).getInt64();
  r.status = parse_study_run_status(q.getColumn(3).getString(), path + ": study_runs.status");
  r.metrics = json_col(q.getColumn(4));
  r.wall_s = q.getColumn(5).getDouble();
  r.error = q.getColumn(6).getString();
  r.updated_at = q.getColumn(7).getString();
  return r;
}

}  // namespace

Store::Store(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw InputError("experiment store: empty database path");
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    throw InputError(path_ + ": cannot create directory " + parent.string() + " (" + ec.message() +
                     ")");
  }
  check_store_file(path_);  // read-only: a foreign file is refused before anything is written
  try {
    db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                             kBusyTimeoutMs);
    const std::string mode = db_->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") throw InputError(path_ + ": cannot use WAL journal mode (got " + mode + ")");
    // In WAL mode NORMAL keeps the database consistent after a crash of the process
    // or the machine; only the last commits may be lost on power failure.
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA foreign_keys = ON");
    migrate_store(*db_, path_);
  } catch (const SQLite::Exception& e) {
    throw InputError(path_ + ": cannot open database (" + e.what() + ")");
  }
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

int Store::schema_version() const { return db_->execAndGet("PRAGMA user_version").getInt(); }

std::string Store::integrity_check() const {
  std::vector<std::string> problems;
  SQLite::Statement integrity(*db_, "PRAGMA integrity_check");
  while (integrity.executeStep()) {
    const std::string line = integrity.getColumn(0).getString();
    if (line != "ok") problems.push_back(line);
  }
  SQLite::Statement fk(*db_, "PRAGMA foreign_key_check");
  while (fk.executeStep()) {
    problems.push_back("foreign key of " + fk.getColumn(0).getString() + " row " +
                       fk.getColumn(1).getString() + " has no " + fk.getColumn(2).getString());
  }
  return problems.empty() ? "ok" : join_strings(problems);
}

// ---- experiments ----

ExperimentRecord Store::create_experiment(const ExperimentRecord& e) {
  const std::string now = utc_now();
  SQLite::Statement q(*db_,
                      "INSERT INTO experiments (kind, name, config, seed, status, program_version, "
                      "created_at, updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)");
  q.bind(1, e.kind);
  q.bind(2, e.name);
  q.bind(3, e.config.dump());
  q.bind(4, e.seed);
  q.bind(5, e.program_version);
  q.bind(6, now);
  q.bind(7, now);
  q.exec();
  return get_experiment(db_->getLastInsertRowid());
}

ExperimentRecord Store::get_experiment(int64_t id) const {
  SQLite::Statement q(*db_, std::string(kExperimentColumns) + "WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) {
    throw InputError(path_ + ": experiment " + std::to_string(id) + " does not exist");
  }
  return read_experiment(q, path_);
}

std::vector<ExperimentRecord> Store::list_experiments(const std::string& kind) const {
  SQLite::Statement q(*db_,
                      std::string(kExperimentColumns) + "WHERE ? = '' OR kind = ? ORDER BY id");
  q.bind(1, kind);
  q.bind(2, kind);
  std::vector<ExperimentRecord> out;
  while (q.executeStep()) out.push_back(read_experiment(q, path_));
  return out;
}

void Store::set_experiment_status(int64_t id, ExperimentStatus status) {
  SQLite::Statement q(*db_, "UPDATE experiments SET status = ?, updated_at = ? WHERE id = ?");
  q.bind(1, to_string(status));
  q.bind(2, utc_now());
  q.bind(3, id);
  if (q.exec() == 0) get_experiment(id);  // throws: no such experiment
}

// ---- candidates ----

CandidateRecord Store::add_candidate(int64_t experiment_id, const nlohmann::json& arch,
                                     const std::string& hash,
                                     std::optional<double> predicted_latency_ms) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  get_experiment(experiment_id);
  if (const auto existing = find_candidate_by_hash(experiment_id, hash)) {
    throw std::logic_error(path_ + ": experiment " + std::to_string(experiment_id) +
                           " already has architecture " + hash + " (candidate " +
                           std::to_string(existing->seq) + ")");
  }
  const std::string now = utc_now();
  SQLite::Statement q(*db_,
                      "INSERT INTO candidates (experiment_id, seq, arch, arch_hash, status, "
                      "predicted_latency_ms, created_at, updated_at) "
                      "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, 'queued', ?4, ?5, ?5 "
                      "FROM candidates WHERE experiment_id = ?1");
  q.bind(1, experiment_id);
  q.bind(2, arch.dump());
  q.bind(3, hash);
  bind_opt(q, 4, predicted_latency_ms);
  q.bind(5, now);
  q.exec();
  const int64_t id = db_->getLastInsertRowid();
  tx.commit();
  return get_candidate(id);
}

CandidateRecord Store::add_candidate(int64_t experiment_id, const NetSpec& net,
                                     std::optional<double> predicted_latency_ms) {
  return add_candidate(experiment_id, to_json(net), arch_hash(net), predicted_latency_ms);
}

CandidateRecord Store::get_candidate(int64_t id) const {
  SQLite::Statement q(*db_, std::string(kCandidateColumns) + "WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) {
    throw InputError(path_ + ": candidate " + std::to_string(id) + " does not exist");
  }
  return read_candidate(q, path_);
}

std::optional<CandidateRecord> Store::find_candidate_by_hash(int64_t experiment_id,
                                                             const std::string& hash) const {
  SQLite::Statement q(*db_,
                      std::string(kCandidateColumns) + "WHERE experiment_id = ? AND arch_hash = ?");
  q.bind(1, experiment_id);
  q.bind(2, hash);
  if (!q.executeStep()) return std::nullopt;
  return read_candidate(q, path_);
}

void Store::mark_running(int64_t candidate_id, int64_t worker) {
  SQLite::Statement q(*db_,
                      "UPDATE candidates SET status = 'running', worker = ?, "
                      "attempts = attempts + 1, updated_at = ? "
                      "WHERE id = ? AND status IN ('queued', 'running')");
  q.bind(1, worker);
  q.bind(2, utc_now());
  q.bind(3, candidate_id);
  if (q.exec() == 0) {
    throw std::logic_error(path_ + ": candidate " + std::to_string(candidate_id) + " is " +
                           to_string(get_candidate(candidate_id).status) + ", not queued");
  }
}

void Store::release_candidate(int64_t candidate_id) {
  SQLite::Statement q(*db_,
                      "UPDATE candidates SET status = 'queued', attempts = MAX(attempts - 1, 0), "
                      "updated_at = ? WHERE id = ? AND status = 'running'");
  q.bind(1, utc_now());
  q.bind(2, candidate_id);
  if (q.exec() == 0) {
    throw std::logic_error(path_ + ": candidate " + std::to_string(candidate_id) + " is " +
                           to_string(get_candidate(candidate_id).status) + ", not running");
  }
}

int64_t Store::requeue_running(int64_t experiment_id) {
  SQLite::Statement q(*db_,
                      "UPDATE candidates SET status = 'queued', updated_at = ? "
                      "WHERE experiment_id = ? AND status = 'running'");
  q.bind(1, utc_now());
  q.bind(2, experiment_id);
  return q.exec();
}

int64_t Store::candidate_experiment(int64_t candidate_id) const {
  SQLite::Statement q(*db_, "SELECT experiment_id FROM candidates WHERE id = ?");
  q.bind(1, candidate_id);
  if (!q.executeStep()) {
    throw InputError(path_ + ": candidate " + std::to_string(candidate_id) + " does not exist");
  }
  return q.getColumn(0).getInt64();
}

void Store::write_result(const CandidateResult& r) {
  if (!is_finished(r.status)) {
    throw std::logic_error(path_ + ": the result of candidate " + std::to_string(r.candidate_id) +
                           " has status " + to_string(r.status) + ", not done or failed");
  }
  candidate_experiment(r.candidate_id);  // throws: no such candidate
  SQLite::Statement q(*db_,
                      "UPDATE candidates SET status = ?, fp32_acc = ?, qat_acc = ?, int8_acc = ?, "
                      "predicted_latency_ms = COALESCE(?, predicted_latency_ms), "
                      "measured_latency_ms = ?, reward = ?, train_seconds = ?, error = ?, "
                      "updated_at = ? WHERE id = ? AND status IN ('queued', 'running')");
  q.bind(1, to_string(r.status));
  bind_opt(q, 2, r.fp32_acc);
  bind_opt(q, 3, r.qat_acc);
  bind_opt(q, 4, r.int8_acc);
  bind_opt(q, 5, r.predicted_latency_ms);
  bind_opt(q, 6, r.measured_latency_ms);
  bind_opt(q, 7, r.reward);
  bind_opt(q, 8, r.train_seconds);
  q.bind(9, r.error);
  q.bind(10, utc_now());
  q.bind(11, r.candidate_id);
  if (q.exec() == 0) {
    throw std::logic_error(path_ + ": candidate " + std::to_string(r.candidate_id) +
                           " is already " + to_string(get_candidate(r.candidate_id).status));
  }
}

void Store::finish_candidate(const CandidateResult& result) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  write_result(result);
  tx.commit();
}

void Store::commit_result(const CandidateResult& result, const StrategyState& state) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  const int64_t experiment_id = candidate_experiment(result.candidate_id);
  if (experiment_id != state.experiment_id) {
    throw std::logic_error(path_ + ": candidate " + std::to_string(result.candidate_id) +
                           " belongs to experiment " + std::to_string(experiment_id) +
                           ", the strategy state to experiment " +
                           std::to_string(state.experiment_id));
  }
  write_result(result);
  write_state(state);
  tx.commit();
}

std::vector<CandidateRecord> Store::list_candidates(int64_t experiment_id,
                                                    std::optional<CandidateStatus> status) const {
  const std::string text = status ? to_string(*status) : "";
  SQLite::Statement q(*db_, std::string(kCandidateColumns) +
                                "WHERE experiment_id = ? AND (? = '' OR status = ?) ORDER BY seq");
  q.bind(1, experiment_id);
  q.bind(2, text);
  q.bind(3, text);
  return read_candidates(q, path_);
}

std::vector<CandidateRecord> Store::top_candidates(int64_t experiment_id, int64_t k) const {
  SQLite::Statement q(*db_, std::string(kCandidateColumns) +
                                "WHERE experiment_id = ? AND status = 'done' AND reward IS NOT "
                                "NULL ORDER BY reward DESC, seq ASC LIMIT ?");
  q.bind(1, experiment_id);
  q.bind(2, std::max<int64_t>(k, 0));
  return read_candidates(q, path_);
}

// ---- strategy state ----

void Store::write_state(const StrategyState& s) {
  SQLite::Statement q(*db_,
                      "INSERT INTO strategy_state (experiment_id, step, state, blob, updated_at) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (experiment_id) DO UPDATE SET "
                      "step = excluded.step, state = excluded.state, blob = excluded.blob, "
                      "updated_at = excluded.updated_at WHERE excluded.step > strategy_state.step");
  q.bind(1, s.experiment_id);
  q.bind(2, s.step);
  q.bind(3, s.state.dump());
  q.bind(4, s.blob.data(), static_cast<int>(s.blob.size()));
  q.bind(5, utc_now());
  if (q.exec() == 0) {
    throw std::logic_error(path_ + ": strategy state step " + std::to_string(s.step) +
                           " of experiment " + std::to_string(s.experiment_id) +
                           " is not after the stored step " +
                           std::to_string(load_strategy_state(s.experiment_id)->step));
  }
}

void Store::save_strategy_state(const StrategyState& state) {
  get_experiment(state.experiment_id);  // a clear error instead of a foreign key failure
  write_state(state);
}

std::optional<StrategyState> Store::load_strategy_state(int64_t experiment_id) const {
  SQLite::Statement q(*db_,
                      "SELECT step, state, blob, updated_at FROM strategy_state "
                      "WHERE experiment_id = ?");
  q.bind(1, experiment_id);
  if (!q.executeStep()) return std::nullopt;
  StrategyState s;
  s.experiment_id = experiment_id;
  s.step = q.getColumn(0).getInt64();
  s.state = json_col(q.getColumn(1));
  s.blob = q.getColumn(2).getString();
  s.updated_at = q.getColumn(3).getString();
  return s;
}

// ---- latency table ----

int64_t Store::upsert_fingerprint(const Fingerprint& fp) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement insert(*db_,
                           "INSERT INTO fingerprints (cpu_model, cores, engine, threads, "
                           "torch_version, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                           "ON CONFLICT DO NOTHING");
  SQLite::Statement select(*db_,
                           "SELECT id FROM fingerprints WHERE cpu_model = ?1 AND cores = ?2 AND "
                           "engine = ?3 AND threads = ?4 AND torch_version = ?5 AND text = ?6");
  for (SQLite::Statement* q : {&insert, &select}) {
    q->bind(1, fp.cpu_model);
    q->bind(2, fp.cores);
    q->bind(3, fp.engine);
    q->bind(4, fp.threads);
    q->bind(5, fp.torch_version);
    q->bind(6, fp.text);
  }
  insert.exec();
  select.executeStep();
  const int64_t id = select.getColumn(0).getInt64();
  tx.commit();
  return id;
}

std::vector<Fingerprint> Store::list_fingerprints() const {
  SQLite::Statement q(*db_,
                      "SELECT id, cpu_model, cores, engine, threads, torch_version, text "
                      "FROM fingerprints ORDER BY id");
  std::vector<Fingerprint> out;
  while (q.executeStep()) {
    Fingerprint fp;
    fp.id = q.getColumn(0).getInt64();
    fp.cpu_model = q.getColumn(1).getString();
    fp.cores = q.getColumn(2).getInt64();
    fp.engine = q.getColumn(3).getString();
    fp.threads = q.getColumn(4).getInt64();
    fp.torch_version = q.getColumn(5).getString();
    fp.text = q.getColumn(6).getString();
    out.push_back(fp);
  }
  return out;
}

void Store::write_latency(const LatencyEntry& e) {
  SQLite::Statement q(*db_,
                      "INSERT OR REPLACE INTO latency (fingerprint_id, key, precision, "
                      "table_version, median_ms, spread_ms, samples, measured_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, e.fingerprint_id);
  q.bind(2, e.key);
  q.bind(3, e.precision);
  q.bind(4, kLatencyTableVersion);
  q.bind(5, e.median_ms);
  q.bind(6, e.spread_ms);
  q.bind(7, e.samples);
  q.bind(8, e.measured_at.empty() ? utc_now() : e.measured_at);
  q.exec();
}

void Store::put_latency(const LatencyEntry& entry) { put_latencies({entry}); }

void Store::put_latencies(const std::vector<LatencyEntry>& entries) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  for (const LatencyEntry& e : entries) write_latency(e);
  tx.commit();
}

std::optional<LatencyEntry> Store::get_latency(int64_t fingerprint_id, const std::string& key,
                                               const std::string& precision) const {
  SQLite::Statement q(*db_, std::string(kLatencyColumns) +
                                "WHERE fingerprint_id = ? AND key = ? AND precision = ? AND "
                                "table_version = ?");
  q.bind(1, fingerprint_id);
  q.bind(2, key);
  q.bind(3, precision);
  q.bind(4, kLatencyTableVersion);
  if (!q.executeStep()) return std::nullopt;
  return read_latency(q);
}

std::vector<LatencyEntry> Store::list_latency(int64_t fingerprint_id) const {
  SQLite::Statement q(*db_, std::string(kLatencyColumns) +
                                "WHERE fingerprint_id = ? AND table_version = ? "
                                "ORDER BY key, precision");
  q.bind(1, fingerprint_id);
  q.bind(2, kLatencyTableVersion);
  std::vector<LatencyEntry> out;
  while (q.executeStep()) out.push_back(read_latency(q));
  return out;
}

// ---- cell search ----

void Store::add_arch_weights(int64_t experiment_id, int64_t stage, int64_t epoch,
                             const nlohmann::json& weights) {
  SQLite::Statement q(*db_,
                      "INSERT OR REPLACE INTO arch_weights (experiment_id, stage, epoch, weights, "
                      "created_at) VALUES (?, ?, ?, ?, ?)");
  q.bind(1, experiment_id);
  q.bind(2, stage);
  q.bind(3, epoch);
  q.bind(4, weights.dump());
  q.bind(5, utc_now());
  q.exec();
}

std::vector<ArchWeightsRecord> Store::list_arch_weights(int64_t experiment_id) const {
  SQLite::Statement q(*db_,
                      "SELECT stage, epoch, weights, created_at FROM arch_weights "
                      "WHERE experiment_id = ? ORDER BY stage, epoch");
  q.bind(1, experiment_id);
  std::vector<ArchWeightsRecord> out;
  while (q.executeStep()) {
    ArchWeightsRecord r;
    r.experiment_id = experiment_id;
    r.stage = q.getColumn(0).getInt64();
    r.epoch = q.getColumn(1).getInt64();
    r.weights = json_col(q.getColumn(2));
    r.created_at = q.getColumn(3).getString();
    out.push_back(r);
  }
  return out;
}

// ---- events ----

void Store::log_event(int64_t experiment_id, EventLevel level, const std::string& message) {
  SQLite::Statement q(
      *db_, "INSERT INTO events (experiment_id, time, level, message) VALUES (?, ?, ?, ?)");
  q.bind(1, experiment_id);
  q.bind(2, utc_now());
  q.bind(3, to_string(level));
  q.bind(4, message);
  q.exec();
}

std::vector<EventRecord> Store::list_events(int64_t experiment_id) const {
  SQLite::Statement q(*db_,
                      "SELECT id, time, level, message FROM events WHERE experiment_id = ? "
                      "ORDER BY id");
  q.bind(1, experiment_id);
  std::vector<EventRecord> out;
  while (q.executeStep()) {
    EventRecord r;
    r.id = q.getColumn(0).getInt64();
    r.experiment_id = experiment_id;
    r.time = q.getColumn(1).getString();
    r.level = parse_event_level(q.getColumn(2).getString(), path_ + ": events.level");
    r.message = q.getColumn(3).getString();
    out.push_back(r);
  }
  return out;
}

// ---- pipeline stages ----

void Store::set_stage(int64_t experiment_id, const std::string& name, StageStatus status,
                      const nlohmann::json& result) {
  SQLite::Statement q(*db_,
                      "INSERT OR REPLACE INTO stages (experiment_id, name, status, result, "
                      "updated_at) VALUES (?, ?, ?, ?, ?)");
  q.bind(1, experiment_id);
  q.bind(2, name);
  q.bind(3, to_string(status));
  q.bind(4, result.dump());
  q.bind(5, utc_now());
  q.exec();
}

std::optional<StageRecord> Store::get_stage(int64_t experiment_id, const std::string& name) const {
  SQLite::Statement q(*db_, std::string(kStageColumns) + "WHERE experiment_id = ? AND name = ?");
  q.bind(1, experiment_id);
  q.bind(2, name);
  if (!q.executeStep()) return std::nullopt;
  return read_stage(q, path_);
}

std::vector<StageRecord> Store::list_stages(int64_t experiment_id) const {
  SQLite::Statement q(*db_, std::string(kStageColumns) + "WHERE experiment_id = ? ORDER BY name");
  q.bind(1, experiment_id);
  std::vector<StageRecord> out;
  while (q.executeStep()) out.push_back(read_stage(q, path_));
  return out;
}

// ---- study runs ----

void Store::put_study_run(const StudyRunRecord& r) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  get_experiment(r.experiment_id);
  SQLite::Statement q(*db_,
                      "INSERT OR REPLACE INTO study_runs (experiment_id, variant, seed, status, "
                      "metrics, wall_s, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, r.experiment_id);
  q.bind(2, r.variant);
  q.bind(3, r.seed);
  q.bind(4, to_string(r.status));
  q.bind(5, r.metrics.dump());
  q.bind(6, r.wall_s);
  q.bind(7, r.error);
  q.bind(8, utc_now());
  q.exec();
  tx.commit();
}

std::vector<StudyRunRecord> Store::list_study_runs(int64_t experiment_id) const {
  SQLite::Statement q(
      *db_, std::string(kStudyRunColumns) + "WHERE experiment_id = ? ORDER BY variant, seed");
  q.bind(1, experiment_id);
  std::vector<StudyRunRecord> out;
  while (q.executeStep()) out.push_back(read_study_run(q, path_));
  return out;
}

}  // namespace frostnas
