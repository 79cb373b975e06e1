#include "search/store/schema.h"

#include <filesystem>
#include <optional>

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('application', 'frostnas');
INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE experiments (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
  program_version TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);

CREATE TABLE candidates (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  arch TEXT NOT NULL,
  arch_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
  fp32_acc REAL,
  qat_acc REAL,
  int8_acc REAL,
  predicted_latency_ms REAL,
  measured_latency_ms REAL,
  reward REAL,
  train_seconds REAL,
  error TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (experiment_id, arch_hash),
  UNIQUE (experiment_id, seq));
CREATE INDEX candidates_by_reward ON candidates (experiment_id, status, reward);

CREATE TABLE strategy_state (
  experiment_id INTEGER PRIMARY KEY REFERENCES experiments (id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  state TEXT NOT NULL,
  blob BLOB NOT NULL,
  updated_at TEXT NOT NULL);

CREATE TABLE fingerprints (
  id INTEGER PRIMARY KEY,
  cpu_model TEXT NOT NULL,
  cores INTEGER NOT NULL,
  engine TEXT NOT NULL,
  threads INTEGER NOT NULL,
  torch_version TEXT NOT NULL,
  text TEXT NOT NULL,
  UNIQUE (cpu_model, cores, engine, threads, torch_version, text));

CREATE TABLE latency (
  fingerprint_id INTEGER NOT NULL REFERENCES fingerprints (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  precision TEXT NOT NULL,
  table_version INTEGER NOT NULL,
  median_ms REAL NOT NULL,
  spread_ms REAL NOT NULL,
  samples INTEGER NOT NULL,
  measured_at TEXT NOT NULL,
  PRIMARY KEY (fingerprint_id, key, precision)) WITHOUT ROWID;

CREATE TABLE arch_weights (
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  stage INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  weights TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (experiment_id, stage, epoch));

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  time TEXT NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
  message TEXT NOT NULL);
CREATE INDEX events_by_experiment ON events (experiment_id, id);

CREATE TABLE stages (
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
  result TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (experiment_id, name));
)sql";

// Version 2: the runs of a study (`frostnas study`), one row per (variant, seed).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE study_runs (
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  variant TEXT NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  metrics TEXT NOT NULL,
  wall_s REAL NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL,
  PRIMARY KEY (experiment_id, variant, seed));
)sql";

// Version 3: the worker and the attempt count of a candidate's evaluation. Columns are only
// ever added (ALTER TABLE), so databases of every earlier version open, and keep their rows,
// after the migration.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE candidates ADD COLUMN worker INTEGER;
ALTER TABLE candidates ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
)sql";

int user_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

[[noreturn]] void refuse_newer(const std::string& path, int version) {
  throw InputError(path + ": not usable: schema version " + std::to_string(version) +
                   " is newer than this frostnas supports (" + std::to_string(kStoreSchemaVersion) +
                   "); use a newer frostnas");
}

}  // namespace

const std::vector<Migration>& store_migrations() {
  static const std::vector<Migration> migrations{
      {1, "experiments, candidates, strategy state, latency table, cell search, events, stages",
       kSchemaV1},
      {2, "study runs", kSchemaV2},
      {3, "candidates: the worker and the attempt count of an evaluation", kSchemaV3},
  };
  return migrations;
}

void check_store_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw InputError(path + ": not a frostnas database (not a regular file)");
  }
  int version = 0;
  std::vector<std::string> tables;
  std::optional<std::string> application;
  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    version = user_version(db);
    SQLite::Statement q(db,
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                        "'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    while (q.executeStep()) tables.push_back(q.getColumn(0).getString());
    if (std::find(tables.begin(), tables.end(), "meta") != tables.end()) {
      SQLite::Statement m(db, "SELECT value FROM meta WHERE key = 'application'");
      if (m.executeStep()) application = m.getColumn(0).getString();
    }
  } catch (const SQLite::Exception& e) {
    if (e.getErrorCode() == SQLITE_NOTADB) {
      throw InputError(path + ": not a frostnas database (not an SQLite file)");
    }
    throw InputError(path + ": not a frostnas database (" + e.what() + ")");
  }
  if (tables.empty() && version == 0) return;  // an empty SQLite database becomes ours
  if (application != kStoreApplication) {
    throw InputError(path +
                     ": not a frostnas database (no meta.application = 'frostnas'; tables: " +
                     join_strings(tables) + ")");
  }
  if (version > kStoreSchemaVersion) refuse_newer(path, version);
}

int migrate_store(SQLite::Database& db, const std::string& path) {
  int version = user_version(db);
  if (version > kStoreSchemaVersion) refuse_newer(path, version);
  for (const Migration& m : store_migrations()) {
    if (version >= m.version) continue;
    // IMMEDIATE: two processes opening a new file at once migrate one after the other.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    version = user_version(db);
    if (version >= m.version) continue;
    db.exec(m.sql);
    db.exec("PRAGMA user_version = " + std::to_string(m.version));
    tx.commit();
    version = m.version;
  }
  return version;
}

}  // namespace frostnas
