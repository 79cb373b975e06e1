// A database written by the first schema version opens after the candidates'
// worker/attempts columns were added, and keeps its rows.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "search/store/store.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;

namespace {

/// A database exactly as schema version 1 left it, with one experiment and two
/// candidates (one done, one left running by a crash).
void write_version1(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(store_migrations().front().sql);
  db.exec("PRAGMA user_version = 1");
  db.exec(
      "INSERT INTO experiments (kind, name, config, seed, status, program_version, created_at, "
      "updated_at) VALUES ('search', 'old', '{}', 3, 'running', '0.1.0', 't', 't')");
  db.exec(
      "INSERT INTO candidates (experiment_id, seq, arch, arch_hash, status, reward, created_at, "
      "updated_at) VALUES (1, 1, '{}', 'aa', 'done', 0.5, 't', 't'), "
      "(1, 2, '{\"x\": 1}', 'bb', 'running', NULL, 't', 't')");
}

}  // namespace

TEST(StoreMigration, Version1DatabaseOpensAndKeepsItsRows) {
  ASSERT_EQ(store_migrations().at(0).version, 1);
  TempDir dir;
  const std::string path = dir.file("v1.sqlite");
  write_version1(path);
  Store store(path);
  EXPECT_EQ(store.schema_version(), kStoreSchemaVersion);
  EXPECT_EQ(store.integrity_check(), "ok");
  const auto candidates = store.list_candidates(1);
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0].status, CandidateStatus::kDone);
  EXPECT_EQ(*candidates[0].reward, 0.5);
  EXPECT_EQ(candidates[0].attempts, 0);
  EXPECT_FALSE(candidates[0].worker);
  EXPECT_EQ(candidates[1].arch, nlohmann::json({{"x", 1}}));
  // The crashed candidate goes back to the queue and runs again on a worker.
  EXPECT_EQ(store.requeue_running(1), 1);
  EXPECT_EQ(store.get_candidate(candidates[1].id).status, CandidateStatus::kQueued);
  store.mark_running(candidates[1].id, 4);
  const CandidateRecord c = store.get_candidate(candidates[1].id);
  EXPECT_EQ(c.status, CandidateStatus::kRunning);
  EXPECT_EQ(c.attempts, 1);
  EXPECT_EQ(*c.worker, 4);
}

TEST(StoreMigration, AttemptsCountCrashesNotStops) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  ExperimentRecord e;
  e.kind = "search";
  e.name = "n";
  const int64_t exp = store.create_experiment(e).id;
  const int64_t id = store.add_candidate(exp, {{"i", 1}}, "h1").id;
  store.mark_running(id, 1);
  store.release_candidate(id);  // stopped on request: not an attempt
  EXPECT_EQ(store.get_candidate(id).attempts, 0);
  EXPECT_EQ(store.get_candidate(id).status, CandidateStatus::kQueued);
  store.mark_running(id, 2);
  EXPECT_EQ(store.requeue_running(exp), 1);  // a crash: the attempt stays counted
  store.mark_running(id, 1);
  EXPECT_EQ(store.get_candidate(id).attempts, 2);
  EXPECT_THROW(store.release_candidate(store.add_candidate(exp, {{"i", 2}}, "h2").id),
               std::logic_error);
}
