#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/error.h"
#include "search/driver/search_driver.h"

using namespace frostnas;

namespace {

std::string space_path() {
  return std::string(FROSTNAS_SOURCE_DIR) + "/experiments/spaces/proxy.json";
}

SearchConfig tiny_config(const std::string& strategy) {
  nlohmann::json j = {{"format", "frostnas.search/1"},
                      {"name", "tiny"},
                      {"space", space_path()},
                      {"strategy", {{"name", strategy}}},
                      {"samples", 30},
                      {"seed", 5},
                      {"latency", {{"source", "macs"}, {"target_ms", 5.0}}}};
  return search_config_from_json(j, "tiny.json", ".");
}

// A deterministic stand-in for training: accuracy from the architecture and the
// seed; counts evaluations per architecture; can fail or be told to stop.
class FakeEvaluator : public Evaluator {
 public:
  Evaluation evaluate(const NetSpec& net, uint64_t seed) override {
    const std::string h = arch_hash(net);
    ++calls[h];
    Evaluation e;
    if (stop_after >= 0 && total++ >= stop_after) {
      e.interrupted = true;
      return e;
    }
    if (net.blocks().size() % 5 == 0) {
      e.failed = true;
      e.error = "diverged: loss nan";
      return e;
    }
    e.int8_acc =
        80.0 + static_cast<double>(std::stoull(h.substr(0, 4), nullptr, 16) % 1000) / 100.0;
    e.qat_acc = e.int8_acc + 0.1;
    e.fp32_acc = e.int8_acc + 0.5;
    e.train_seconds = 1.0;
    last_seed = seed;
    return e;
  }
  std::map<std::string, int> calls;
  int stop_after = -1;
  int total = 0;
  uint64_t last_seed = 0;
};

LatencyFn macs_latency() {
  return [](const NetSpec& n) { return static_cast<double>(resolve(n).macs()) / 1e6; };
}

struct TempDb {
  TempDb() {
    path = (std::filesystem::temp_directory_path() /
            ("frostnas_driver_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(path);
  }
  ~TempDb() { std::filesystem::remove_all(path); }
  std::string db() const { return path + "/db.sqlite"; }
  std::string path;
};

}  // namespace

TEST(SearchDriver, EvaluatesEachArchitectureOnceAndRecordsFailures) {
  TempDb tmp;
  Store store(tmp.db());
  FakeEvaluator eval;
  SearchConfig config = tiny_config("evolution");
  config.strategy_options = {{"population", 4}, {"sample_size", 4}};
  const SearchSummary s = run_search(config, store, eval, macs_latency());
  EXPECT_EQ(s.steps, 30);
  EXPECT_EQ(s.evaluated + s.reused, 30);
  for (const auto& [hash, n] : eval.calls) EXPECT_EQ(n, 1) << hash;
  const auto candidates = store.list_candidates(s.experiment_id);
  EXPECT_EQ(static_cast<int64_t>(candidates.size()), s.evaluated);
  int failed = 0;
  for (const auto& c : candidates) {
    EXPECT_TRUE(c.status == CandidateStatus::kDone || c.status == CandidateStatus::kFailed);
    if (c.status == CandidateStatus::kFailed) {
      ++failed;
      EXPECT_EQ(*c.reward, 0.0);
      EXPECT_EQ(c.error, "diverged: loss nan");
    } else {
      EXPECT_NEAR(*c.reward, *c.int8_acc / 100.0 * std::pow(*c.predicted_latency_ms / 5.0, -0.07),
                  1e-12);
    }
  }
  EXPECT_EQ(store.get_experiment(s.experiment_id).status, ExperimentStatus::kDone);
  EXPECT_EQ(store.load_strategy_state(s.experiment_id)->step, 30);
  ASSERT_TRUE(s.best);
  EXPECT_EQ(s.best->id, store.top_candidates(s.experiment_id, 1).front().id);
}

TEST(SearchDriver, InterruptedRunResumesToTheUninterruptedResult) {
  for (const char* strategy : {"rl", "evolution", "random"}) {
    TempDb a, b;
    FakeEvaluator full_eval;
    Store full_store(a.db());
    const SearchSummary full =
        run_search(tiny_config(strategy), full_store, full_eval, macs_latency());

    Store store(b.db());
    FakeEvaluator first;
    first.stop_after = 7;  // the 8th evaluation is cut off mid-candidate
    const SearchSummary cut = run_search(tiny_config(strategy), store, first, macs_latency());
    EXPECT_TRUE(cut.interrupted);
    EXPECT_EQ(store.get_experiment(cut.experiment_id).status, ExperimentStatus::kInterrupted);
    FakeEvaluator second;
    const SearchSummary resumed =
        run_search(tiny_config(strategy), store, second, macs_latency(), cut.experiment_id);
    EXPECT_EQ(resumed.steps, 30);
    // Only the cut candidate is evaluated twice over both runs.
    int twice = 0;
    for (const auto& [h, n] : second.calls) twice += first.calls.count(h) ? 1 : 0;
    EXPECT_EQ(twice, 1) << strategy;
    const auto x = full_store.list_candidates(full.experiment_id);
    const auto y = store.list_candidates(resumed.experiment_id);
    ASSERT_EQ(x.size(), y.size()) << strategy;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].arch_hash, y[i].arch_hash) << strategy << " " << i;
      EXPECT_EQ(x[i].reward, y[i].reward) << strategy << " " << i;
      EXPECT_EQ(x[i].status, y[i].status);
    }
  }
}

TEST(SearchDriver, ResumeRejectsAnotherConfiguration) {
  TempDb tmp;
  Store store(tmp.db());
  FakeEvaluator eval;
  eval.stop_after = 2;
  const SearchSummary cut = run_search(tiny_config("random"), store, eval, macs_latency());
  SearchConfig other = tiny_config("random");
  other.samples = 31;
  FakeEvaluator again;
  EXPECT_THROW(run_search(other, store, again, macs_latency(), cut.experiment_id), InputError);
}

TEST(SearchConfig, RejectsBadFields) {
  auto base = nlohmann::json{{"format", "frostnas.search/1"},
                             {"space", space_path()},
                             {"samples", 3},
                             {"strategy", {{"name", "rl"}}}};
  auto expect = [&](nlohmann::json j, const std::string& needle) {
    try {
      search_config_from_json(j, "cfg.json", ".");
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto j = base;
  j["strategy"]["name"] = "greedy";
  expect(j,
         "cfg.json: $.strategy.name: \"greedy\" is not allowed (allowed: evolution, random, rl)");
  j = base;
  j["samples"] = 0;
  expect(j, "$.samples: 0 is out of range");
  j = base;
  j["metric"] = "top5";
  expect(j, "$.metric: \"top5\" is not allowed (allowed: int8, qat, fp32)");
  j = base;
  j["latency"] = {{"source", "guess"}, {"target_ms", 1.0}};
  expect(j, "$.latency.source: \"guess\" is not allowed (allowed: table, macs)");
  j = base;
  j["strategy"]["options"] = {{"hidden", 2}};
  expect(j, "$.strategy.options");
  j = base;
  j["space"] = "missing.json";
  expect(j, "missing.json: cannot open file");
  j = base;
  j["train"] = {{"optimizer", {{"lrr", 0.1}}}};
  expect(j, "cfg.json: $.train.optimizer.lrr: unknown field (allowed fields: name, lr, ");
  j = base;
  j["train"] = {{"epochs", 0}};
  expect(j, "cfg.json: $.train.epochs: 0 is out of range (allowed: 1..100000)");
  j = base;
  j["data"] = {{"name", "synthetic"}, {"train_subsett", 10}};
  expect(j, "cfg.json: $.data.train_subsett: unknown field (allowed fields: name, dir, ");
}

namespace {

// Hands the whole batch out at once and answers in reverse order, like workers
// that finish in any order.
class ReversedDispatcher : public Dispatcher {
 public:
  explicit ReversedDispatcher(Evaluator& evaluator) : evaluator_(evaluator) {}
  int64_t workers() const override { return 8; }
  DispatchOutcome run(const std::vector<EvalTask>& tasks,
                      const DispatchCallbacks& callbacks) override {
    std::vector<Evaluation> results;
    for (size_t i = 0; i < tasks.size(); ++i) {
      callbacks.on_start(i, static_cast<int64_t>(i) + 1);
      results.push_back(evaluator_.evaluate(tasks[i].net, tasks[i].seed));
    }
    for (size_t i = tasks.size(); i-- > 0;) callbacks.on_result(i, results[i]);
    return {};
  }

 private:
  Evaluator& evaluator_;
};

// Crashes (throws out of the driver, as a killed process would stop it) every
// time it is given architecture number `crash_at` of its first run.
class CrashingEvaluator : public FakeEvaluator {
 public:
  Evaluation evaluate(const NetSpec& net, uint64_t seed) override {
    if (arch_hash(net) == *crash_hash || (crash_hash->empty() && ++seen == 3)) {
      *crash_hash = arch_hash(net);
      throw std::runtime_error("worker killed");
    }
    return FakeEvaluator::evaluate(net, seed);
  }
  std::string* crash_hash = nullptr;
  int seen = 0;
};

void expect_same_records(const std::vector<CandidateRecord>& x,
                         const std::vector<CandidateRecord>& y, const std::string& what) {
  ASSERT_EQ(x.size(), y.size()) << what;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].seq, y[i].seq) << what << " " << i;
    EXPECT_EQ(x[i].arch_hash, y[i].arch_hash) << what << " " << i;
    EXPECT_EQ(x[i].status, y[i].status) << what << " " << i;
    EXPECT_EQ(x[i].int8_acc, y[i].int8_acc) << what << " " << i;
    EXPECT_EQ(x[i].reward, y[i].reward) << what << " " << i;
  }
}

}  // namespace

TEST(SearchDriver, BatchRecordDoesNotDependOnTheOrderResultsArrive) {
  for (const char* strategy : {"rl", "evolution", "random"}) {
    SearchConfig config = tiny_config(strategy);
    config.batch = 4;
    TempDb a, b;
    Store serial_store(a.db()), parallel_store(b.db());
    FakeEvaluator serial_eval, parallel_eval;
    const SearchSummary s = run_search(config, serial_store, serial_eval, macs_latency());
    ReversedDispatcher reversed(parallel_eval);
    const SearchSummary p = run_search(config, parallel_store, reversed, macs_latency());
    EXPECT_EQ(s.steps, 30);
    EXPECT_EQ(p.steps, 30);
    expect_same_records(serial_store.list_candidates(s.experiment_id),
                        parallel_store.list_candidates(p.experiment_id), strategy);
    EXPECT_EQ(serial_store.load_strategy_state(s.experiment_id)->state,
              parallel_store.load_strategy_state(p.experiment_id)->state)
        << strategy;
    // Workers are recorded with the candidates they ran.
    for (const auto& c : parallel_store.list_candidates(p.experiment_id)) {
      EXPECT_GE(c.worker.value_or(0), 1);
      EXPECT_EQ(c.attempts, 1);
    }
  }
}

TEST(SearchDriver, BatchRunInterruptedMidBatchResumesToTheUninterruptedResult) {
  for (const char* strategy : {"rl", "evolution"}) {
    SearchConfig config = tiny_config(strategy);
    config.batch = 4;
    TempDb a, b;
    Store full_store(a.db()), store(b.db());
    FakeEvaluator full_eval, first, second;
    const SearchSummary full = run_search(config, full_store, full_eval, macs_latency());
    first.stop_after = 9;  // in the middle of the third batch
    const SearchSummary cut = run_search(config, store, first, macs_latency());
    ASSERT_TRUE(cut.interrupted);
    EXPECT_EQ(store.list_candidates(cut.experiment_id, CandidateStatus::kRunning).size(), 0u);
    const SearchSummary resumed =
        run_search(config, store, second, macs_latency(), cut.experiment_id);
    EXPECT_EQ(resumed.steps, 30);
    expect_same_records(full_store.list_candidates(full.experiment_id),
                        store.list_candidates(resumed.experiment_id), strategy);
    for (const auto& c : store.list_candidates(resumed.experiment_id)) EXPECT_LE(c.attempts, 1);
  }
}

TEST(SearchDriver, CandidateThatCrashedTwiceIsRecordedFailed) {
  SearchConfig config = tiny_config("random");
  config.samples = 8;
  config.batch = 2;
  TempDb tmp;
  Store store(tmp.db());
  std::string crash_hash;
  int64_t id = 0;
  for (int run = 0; run < 2; ++run) {
    CrashingEvaluator crashing;
    crashing.crash_hash = &crash_hash;
    EXPECT_THROW(run_search(config, store, crashing, macs_latency(),
                            run == 0 ? std::nullopt : std::optional<int64_t>(1)),
                 std::runtime_error);
    id = store.list_experiments().front().id;
    const auto c = store.find_candidate_by_hash(id, crash_hash);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->status, CandidateStatus::kRunning);
    EXPECT_EQ(c->attempts, run + 1);
  }
  FakeEvaluator healthy;
  const SearchSummary s = run_search(config, store, healthy, macs_latency(), id);
  EXPECT_FALSE(s.interrupted);
  EXPECT_EQ(s.steps, 8);
  EXPECT_EQ(healthy.calls.count(crash_hash), 0u);  // not tried a third time
  const auto c = store.find_candidate_by_hash(id, crash_hash);
  EXPECT_EQ(c->status, CandidateStatus::kFailed);
  EXPECT_EQ(c->error, "killed its worker 2 times (last on worker 0)");
  EXPECT_EQ(*c->reward, config.failure_reward);
  for (const auto& x : store.list_candidates(id)) EXPECT_NE(x.status, CandidateStatus::kRunning);
  EXPECT_EQ(store.integrity_check(), "ok");
}
