// The store's study_runs table: rows replace each other per (experiment, variant, seed), the
// status is checked by the database, and a database of the previous schema gains the table.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "search/store/store.h"
#include "tests/common/temp_dir.h"

using namespace frostnas;
using frostnas::testing::TempDir;

namespace {

int64_t new_study_experiment(Store& store) {
  ExperimentRecord e;
  e.kind = "study";
  e.name = "s";
  return store.create_experiment(e).id;
}

StudyRunRecord study_run(int64_t experiment_id, const std::string& variant, int64_t seed,
                         StudyRunStatus status = StudyRunStatus::kRunning) {
  StudyRunRecord r;
  r.experiment_id = experiment_id;
  r.variant = variant;
  r.seed = seed;
  r.status = status;
  return r;
}

}  // namespace

TEST(StudyRunsTable, ReplacesARunAndListsByVariantThenSeed) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const int64_t id = new_study_experiment(store);
  StudyRunRecord r;
  r.experiment_id = id;
  r.variant = "b";
  r.seed = 1;
  store.put_study_run(r);
  r.status = StudyRunStatus::kDone;
  r.metrics = {{"int8_acc", 81.5}};
  r.wall_s = 2.5;
  store.put_study_run(r);
  r.variant = "a";
  r.seed = 7;
  r.status = StudyRunStatus::kFailed;
  r.error = "loss nan";
  store.put_study_run(r);
  const std::vector<StudyRunRecord> runs = store.list_study_runs(id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].variant, "a");
  EXPECT_EQ(runs[0].status, StudyRunStatus::kFailed);
  EXPECT_EQ(runs[0].error, "loss nan");
  EXPECT_EQ(runs[1].variant, "b");
  EXPECT_EQ(runs[1].status, StudyRunStatus::kDone);
  EXPECT_DOUBLE_EQ(runs[1].metrics.at("int8_acc").get<double>(), 81.5);
  EXPECT_DOUBLE_EQ(runs[1].wall_s, 2.5);
  EXPECT_FALSE(runs[1].updated_at.empty());
  EXPECT_THROW(store.put_study_run(study_run(id + 1, "a", 0)), InputError);
}

TEST(StudyRunsTable, TheDatabaseRefusesAnUnknownStatus) {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  int64_t id = 0;
  {
    Store store(path);
    id = new_study_experiment(store);
  }
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  EXPECT_THROW(db.exec("INSERT INTO study_runs (experiment_id, variant, seed, status, metrics, "
                       "wall_s, updated_at) VALUES (" +
                       std::to_string(id) + ", 'a', 0, 'paused', '{}', 0, '')"),
               SQLite::Exception);
}

TEST(StudyRunsTable, ADatabaseOfSchemaVersionOneGainsTheTable) {
  TempDir dir;
  const std::string path = dir.file("v1.sqlite");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(store_migrations().at(0).sql);
    db.exec("PRAGMA user_version = 1");
    db.exec(
        "INSERT INTO experiments (kind, name, config, seed, status, program_version, "
        "created_at, updated_at) VALUES ('search', 'old', '{}', 0, 'done', '0.1.0', '', '')");
  }
  Store store(path);
  EXPECT_EQ(store.schema_version(), kStoreSchemaVersion);
  EXPECT_EQ(store.list_experiments().size(), 1u);
  EXPECT_EQ(store.integrity_check(), "ok");
  const int64_t id = new_study_experiment(store);
  store.put_study_run(study_run(id, "a", 0, StudyRunStatus::kDone));
  EXPECT_EQ(store.list_study_runs(id).size(), 1u);
}
