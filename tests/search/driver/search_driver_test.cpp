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
