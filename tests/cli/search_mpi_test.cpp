// `mpirun --oversubscribe -np 3 frostnas search`: rank 0 drives, two workers train.
// Skipped with a message where mpirun is missing or frostnas is built without MPI.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "search/store/store.h"
#include "tests/common/cli_runner.h"
#include "tests/common/mpi_runner.h"

namespace {

namespace fs = std::filesystem;
using frostnas::CandidateRecord;
using frostnas::Store;
using frostnas::testing::CliResult;
using frostnas::testing::frostnas_error_lines;
using frostnas::testing::kMpirun;
using frostnas::testing::run_shell;

class MpiSearch : public frostnas::testing::MpiCommandTest<MpiSearch> {
 public:
  static constexpr const char* kCommand = "search";
  static nlohmann::json config_json(int64_t seed) {
    return {
        {"format", "frostnas.search/1"},
        {"name", "mpi"},
        {"space", std::string(FROSTNAS_SOURCE_DIR) + "/experiments/spaces/proxy.json"},
        {"strategy", {{"name", "rl"}}},
        {"samples", 6},
        {"batch", 2},
        {"seed", seed},
        {"data", {{"name", "synthetic"}, {"train_subset", 256}, {"val_size", 64}}},
        {"train", {{"epochs", 1}, {"batch_size", 64}, {"fp_warmup_epochs", 0.5}, {"threads", 1}}},
        {"latency", {{"source", "macs"}, {"target_ms", 5.0}}}};
  }

 protected:
  /// Every candidate has exactly one result and the record equals the serial one.
  static void expect_serial_record(const std::string& path) {
    ASSERT_EQ(serial().status, 0) << serial().err;
    Store reference(db("serial"));
    Store store(path);
    EXPECT_EQ(store.integrity_check(), "ok");
    const auto a = reference.list_candidates(1);
    const auto b = store.list_candidates(1);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].arch_hash, b[i].arch_hash) << i;
      EXPECT_EQ(a[i].status, b[i].status) << i;
      EXPECT_EQ(a[i].int8_acc, b[i].int8_acc) << i;
      EXPECT_EQ(a[i].qat_acc, b[i].qat_acc) << i;
      EXPECT_EQ(a[i].reward, b[i].reward) << i;
      EXPECT_TRUE(b[i].worker && *b[i].worker >= 1 && *b[i].worker <= 2) << i;
    }
    EXPECT_EQ(store.get_experiment(1).status, frostnas::ExperimentStatus::kDone);
    EXPECT_EQ(store.load_strategy_state(1)->state, reference.load_strategy_state(1)->state);
  }
};

TEST_F(MpiSearch, TwoWorkersRecordTheSerialSearchOfTheSameBatchSize) {
  const CliResult r = mpirun("", 3, "--config " + config("tiny.json") + " --db " + db("mpi"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("experiment 1: 6/6 proposals"), std::string::npos) << r.out;
  expect_serial_record(db("mpi"));
}

TEST_F(MpiSearch, KilledWorkerLeavesAResumableDatabase) {
  const std::string path = db("killed");
  const CliResult killed =
      mpirun("FROSTNAS_TEST_KILL_AT_SEQ=3", 3, "--config " + config("tiny.json") + " --db " + path);
  EXPECT_NE(killed.status, 0) << killed.err;
  {
    Store store(path);
    EXPECT_EQ(store.integrity_check(), "ok");
    const CandidateRecord c = store.list_candidates(1).at(2);
    EXPECT_EQ(c.status, frostnas::CandidateStatus::kRunning);
    EXPECT_EQ(c.attempts, 1);
  }
  const CliResult resumed = mpirun("", 3, "--db " + path + " --resume 1");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  expect_serial_record(path);
}

TEST_F(MpiSearch, CandidateThatKillsItsWorkerTwiceIsRecordedFailed) {
  const std::string path = db("twice");
  EXPECT_NE(
      mpirun("FROSTNAS_TEST_KILL_AT_SEQ=5", 3, "--config " + config("tiny.json") + " --db " + path)
          .status,
      0);
  EXPECT_NE(mpirun("FROSTNAS_TEST_KILL_AT_SEQ=5", 3, "--db " + path + " --resume 1").status, 0);
  const CliResult done = mpirun("", 3, "--db " + path + " --resume 1");
  ASSERT_EQ(done.status, 0) << done.err;
  Store store(path);
  EXPECT_EQ(store.integrity_check(), "ok");
  const auto candidates = store.list_candidates(1);
  for (const auto& c : candidates)
    EXPECT_TRUE(c.status == frostnas::CandidateStatus::kDone ||
                c.status == frostnas::CandidateStatus::kFailed);
  const CandidateRecord c = candidates.at(4);
  EXPECT_EQ(c.status, frostnas::CandidateStatus::kFailed);
  EXPECT_EQ(c.attempts, 2);
  EXPECT_EQ(c.error.rfind("killed its worker 2 times", 0), 0u) << c.error;
}

TEST_F(MpiSearch, SilentWorkerEndsTheRunAtItsDeadline) {
  const std::string path = db("silent");
  const CliResult r =
      mpirun("FROSTNAS_TEST_HANG_AT_SEQ=2", 3,
             "--worker-deadline 3 --config " + config("tiny.json") + " --db " + path);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(frostnas_error_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("did not answer within 3 s (candidate 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume 1"), std::string::npos) << r.err;
  {
    Store store(path);
    EXPECT_EQ(store.integrity_check(), "ok");
    EXPECT_EQ(store.get_experiment(1).status, frostnas::ExperimentStatus::kInterrupted);
  }
  const CliResult resumed = mpirun("", 3, "--db " + path + " --resume 1");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  expect_serial_record(path);
}

TEST_F(MpiSearch, BadInputStopsBeforeTheDatabaseIsCreated) {
  // No worker: a job of one process.
  CliResult r =
      mpirun("", 1, "--workers mpi --config " + config("tiny.json") + " --db " + db("none"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(frostnas_error_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no worker"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db("none")));

  // Rank 2 was given another configuration.
  r = run_shell(std::string(kMpirun) + " -np 2 " + FROSTNAS_BINARY + " search --quiet --config " +
                config("tiny.json") + " --db " + db("differ") + " : -np 1 " + FROSTNAS_BINARY +
                " search --quiet --config " + config("other.json") + " --db " + db("differ"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(frostnas_error_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("worker 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("configuration hash"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db("differ")));

  // A host file naming a machine that cannot be reached: mpirun itself refuses.
  std::ofstream(dir_ / "hosts") << "no-such-host.invalid slots=2\n";
  r = run_shell(kMpirun + " --hostfile " + (dir_ / "hosts").string() + " -np 3 " + FROSTNAS_BINARY +
                " search --quiet --config " + config("tiny.json") + " --db " + db("unreachable"));
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(fs::exists(db("unreachable")));
}

}  // namespace
