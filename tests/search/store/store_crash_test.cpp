#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <gtest/gtest.h>

#include "search/store/store.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;

namespace {

/// The experiment of the crash test, created by the first writer.
int64_t crash_experiment(Store& store) {
  const auto experiments = store.list_experiments();
  if (!experiments.empty()) return experiments[0].id;
  ExperimentRecord e;
  e.kind = "search";
  e.name = "crash";
  return store.create_experiment(e).id;
}

/// The writer the test kills: it runs the search loop (add, run, commit the result
/// with the strategy state it produced, log, measure) until SIGKILL. After its 20th
/// commit it writes one byte to `ready_fd`. Never returns.
[[noreturn]] void write_until_killed(const std::string& path, int round, int ready_fd) {
  try {
    Store store(path);
    const int64_t exp = crash_experiment(store);
    Fingerprint fp;
    fp.cpu_model = "test";
    const int64_t fingerprint = store.upsert_fingerprint(fp);
    const auto previous = store.load_strategy_state(exp);
    int64_t step = previous ? previous->step : 0;
    for (int i = 0; i < 1000000; ++i) {
      const std::string hash = "r" + std::to_string(round) + "-" + std::to_string(i);
      const int64_t id = store.add_candidate(exp, {{"round", round}, {"i", i}}, hash).id;
      store.mark_running(id);
      CandidateResult r;
      r.candidate_id = id;
      r.reward = 0.001 * i;
      r.fp32_acc = 0.5;
      StrategyState s;
      s.experiment_id = exp;
      s.step = ++step;
      s.state = {{"done", step}, {"last", id}};
      s.blob = std::string(4096, static_cast<char>('a' + i % 26));
      store.commit_result(r, s);
      store.log_event(exp, EventLevel::kInfo, "candidate " + std::to_string(id) + " done");
      LatencyEntry e;
      e.fingerprint_id = fingerprint;
      e.key = "block" + std::to_string(i % 50);
      e.precision = "int8";
      e.median_ms = 0.1 * i;
      e.samples = i;
      store.put_latencies({e, e});
      if (i == 20 && ::write(ready_fd, "x", 1) != 1) ::_exit(3);
    }
    ::_exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer failed: %s\n", e.what());
    ::_exit(2);
  }
}

}  // namespace

TEST(StoreCrash, SigkillDuringWritesLeavesConsistentDatabase) {
  TempDir dir;
  const std::string path = dir.file("crash.sqlite");
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      write_until_killed(path, round, fds[1]);
    }
    ::close(fds[1]);
    char byte = 0;
    const ssize_t got = ::read(fds[0], &byte, 1);
    ::close(fds[0]);
    // Kill at a different point of the loop in each round.
    ::usleep(static_cast<useconds_t>(round * 1700));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_EQ(got, 1) << "the writer died before its 20th commit (status " << status << ")";
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;

    Store store(path);
    ASSERT_EQ(store.integrity_check(), "ok");
    const auto experiments = store.list_experiments();
    ASSERT_EQ(experiments.size(), 1u);
    const int64_t exp = experiments[0].id;
    const auto done = store.list_candidates(exp, CandidateStatus::kDone);
    const auto state = store.load_strategy_state(exp);
    ASSERT_TRUE(state.has_value());
    // Every done candidate has its state and no state is ahead of its candidate.
    EXPECT_EQ(state->step, static_cast<int64_t>(done.size()));
    EXPECT_EQ(state->state.at("done"), state->step);
    EXPECT_EQ(state->state.at("last"), done.back().id);
    EXPECT_EQ(state->blob.size(), 4096u);
    for (const auto& c : done) EXPECT_TRUE(c.reward.has_value());
    // Each killed writer leaves at most one candidate unfinished.
    const auto all = store.list_candidates(exp);
    EXPECT_LE(all.size() - done.size(), static_cast<size_t>(round + 1));
    // An event is logged after its commit: each kill may lose one.
    EXPECT_GE(store.list_events(exp).size() + round + 1, done.size());
  }
}
