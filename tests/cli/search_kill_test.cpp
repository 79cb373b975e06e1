// A tiny search killed with SIGKILL in the middle of a candidate, then resumed:
// no finished candidate is lost or evaluated twice, and the finished experiment
// equals an uninterrupted one.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "search/store/store.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

fs::path make_dir() {
  const fs::path dir = fs::temp_directory_path() / ("frostnas_kill_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::vector<std::string> search_args(const fs::path& config, const fs::path& db) {
  return {FROSTNAS_BINARY, "search", "--config", config.string(), "--db", db.string(), "--quiet"};
}

}  // namespace

TEST(SearchKill, SigkillMidCandidateThenResumeEqualsUninterrupted) {
  const fs::path dir = make_dir();
  const fs::path config = dir / "tiny.json";
  std::ofstream(config) << nlohmann::json{
      {"format", "frostnas.search/1"},
      {"name", "kill"},
      {"space", std::string(FROSTNAS_SOURCE_DIR) + "/experiments/spaces/proxy.json"},
      {"strategy", {{"name", "rl"}}},
      {"samples", 5},
      {"seed", 3},
      {"data", {{"name", "synthetic"}, {"train_subset", 384}, {"val_size", 128}}},
      {"train", {{"epochs", 1}, {"batch_size", 64}, {"fp_warmup_epochs", 0.5}, {"threads", 1}}},
      {"latency",
       {{"source", "macs"},
        {"target_ms", 5.0}}}}.dump();

  // The reference: an uninterrupted run.
  ASSERT_EQ(wait_exit(spawn(search_args(config, dir / "full.sqlite"))), 0);

  // Kill the second run while its third candidate is being trained.
  const fs::path db = dir / "killed.sqlite";
  const pid_t pid = spawn(search_args(config, db));
  bool killed = false;
  for (int i = 0; i < 1200 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!fs::exists(db)) continue;
    try {
      // Read-only, so that the watcher never writes to the database under test.
      SQLite::Database watch(db.string(), SQLite::OPEN_READONLY);
      SQLite::Statement q(watch,
                          "SELECT COUNT(*) FROM candidates WHERE status = 'running' AND seq = 3");
      if (q.executeStep() && q.getColumn(0).getInt() == 1) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
    } catch (const std::exception&) {
      // The database is still being created: look again.
    }
  }
  ASSERT_TRUE(killed) << "never saw candidate 3 running";
  EXPECT_EQ(wait_exit(pid), -SIGKILL);
  {
    frostnas::Store store(db.string());
    using frostnas::CandidateStatus;
    EXPECT_EQ(store.list_candidates(1, CandidateStatus::kDone).size() +
                  store.list_candidates(1, CandidateStatus::kFailed).size(),
              2u);
    EXPECT_EQ(store.list_candidates(1, CandidateStatus::kRunning).size(), 1u);
    EXPECT_EQ(store.integrity_check(), "ok");
  }

  ASSERT_EQ(wait_exit(spawn(
                {FROSTNAS_BINARY, "search", "--db", db.string(), "--resume", "1", "--quiet"})),
            0);

  frostnas::Store full((dir / "full.sqlite").string());
  frostnas::Store resumed(db.string());
  const auto a = full.list_candidates(1);
  const auto b = resumed.list_candidates(1);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].arch_hash, b[i].arch_hash) << i;
    EXPECT_EQ(a[i].status, b[i].status) << i;
    EXPECT_EQ(a[i].int8_acc, b[i].int8_acc) << i;
    EXPECT_EQ(a[i].reward, b[i].reward) << i;
  }
  EXPECT_EQ(resumed.get_experiment(1).status, frostnas::ExperimentStatus::kDone);
  EXPECT_EQ(resumed.load_strategy_state(1)->step, 5);
  // The controller ends in the same place (its weight archive is compared by
  // what it decodes to through the proposals above, not byte for byte).
  const auto x = resumed.load_strategy_state(1)->state;
  const auto y = full.load_strategy_state(1)->state;
  EXPECT_TRUE(x.at("rng") == y.at("rng"));
  EXPECT_EQ(x.at("baseline"), y.at("baseline"));
  EXPECT_EQ(x.at("observed"), y.at("observed"));
  fs::remove_all(dir);
}
