// The search commands end to end on a tiny synthetic search: runs, top, export,
// and one-line errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "space/net_spec.h"
#include "tests/common/cli_runner.h"

using frostnas::testing::CliResult;
using frostnas::testing::expect_input_error;
using frostnas::testing::run_frostnas;
using frostnas::testing::source_path;

namespace fs = std::filesystem;

// Not in an anonymous namespace: TEST_F derives classes with external linkage from it.
class SearchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("frostnas_search_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = (dir_ / "tiny.json").string();
    std::ofstream(config_) << nlohmann::json{
        {"format", "frostnas.search/1"},
        {"name", "cli"},
        {"space", source_path("experiments/spaces/proxy.json")},
        {"strategy", {{"name", "evolution"}, {"options", {{"population", 2}, {"sample_size", 2}}}}},
        {"samples", 3},
        {"seed", 1},
        {"data", {{"name", "synthetic"}, {"train_subset", 256}, {"val_size", 128}}},
        {"train", {{"epochs", 1}, {"batch_size", 64}, {"fp_warmup_epochs", 0.5}, {"threads", 1}}},
        {"latency",
         {{"source", "macs"},
          {"target_ms", 5.0}}}}.dump();
    db_ = (dir_ / "db.sqlite").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string config_, db_;
};

TEST_F(SearchCli, SearchThenRunsTopAndExport) {
  const CliResult s = run_frostnas("search --config " + config_ + " --db " + db_ + " --quiet");
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.out.find("experiment 1: 3/3 proposals"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("best: candidate"), std::string::npos) << s.out;
  EXPECT_TRUE(fs::exists(dir_ / "experiment-1-best.json"));

  const auto runs = nlohmann::json::parse(run_frostnas("runs --db " + db_ + " --json").out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("status"), "done");
  EXPECT_EQ(runs[0].at("kind"), "search");
  EXPECT_EQ(
      nlohmann::json::parse(run_frostnas("runs --db " + db_ + " --status done --json").out).size(),
      1u);
  EXPECT_TRUE(
      nlohmann::json::parse(run_frostnas("runs --db " + db_ + " --status interrupted --json").out)
          .empty());

  const auto top =
      nlohmann::json::parse(run_frostnas("top --db " + db_ + " --experiment 1 -k 2 --json").out);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_GE(top[0].at("reward").get<double>(), top[1].at("reward").get<double>());

  const CliResult e = run_frostnas("export --db " + db_ + " --experiment 1 --top 2 --out " +
                                   (dir_ / "out").string());
  ASSERT_EQ(e.status, 0) << e.err;
  int archs = 0;
  for (const auto& f : fs::directory_iterator(dir_ / "out")) {
    if (f.path().filename() == "pareto.json") continue;
    ++archs;
    EXPECT_NO_THROW(frostnas::load_net_spec(f.path().string()));  // frostnas.arch/1, validated
    EXPECT_EQ(run_frostnas("arch show " + f.path().string()).status, 0);
  }
  EXPECT_EQ(archs, 2);
  std::ifstream pareto(dir_ / "out" / "pareto.json");
  const auto front = nlohmann::json::parse(pareto).at("front");
  ASSERT_GE(front.size(), 1u);
  for (size_t i = 1; i < front.size(); ++i) {
    EXPECT_GT(front[i].at("latency_ms").get<double>(), front[i - 1].at("latency_ms").get<double>());
    EXPECT_GT(front[i].at("int8_acc").get<double>(), front[i - 1].at("int8_acc").get<double>());
  }
}

TEST_F(SearchCli, BadInputIsOneLineAndExitTwo) {
  expect_input_error(run_frostnas("search --db " + db_), "missing --config FILE");
  expect_input_error(run_frostnas("search --config /nonexistent.json --db " + db_),
                     "/nonexistent.json: cannot open file");
  std::ofstream(dir_ / "bad.json") << R"({"format": "frostnas.search/1", "space": ")"
                                   << source_path("experiments/spaces/proxy.json")
                                   << R"(", "samples": 2, "strategy": {"name": "annealing"}})";
  expect_input_error(
      run_frostnas("search --config " + (dir_ / "bad.json").string() + " --db " + db_),
      "$.strategy.name: \"annealing\" is not allowed (allowed: evolution, random, rl)");
  expect_input_error(run_frostnas("runs --db " + (dir_ / "none.sqlite").string()),
                     "no such database");
  expect_input_error(run_frostnas("runs --db " + db_ + " --status paused"),
                     "--status: \"paused\" is not an experiment status (allowed: running, done, "
                     "failed, interrupted)");
  std::ofstream(dir_ / "text.sqlite") << "not a database";
  expect_input_error(run_frostnas("runs --db " + (dir_ / "text.sqlite").string()),
                     "not a frostnas database");
  expect_input_error(run_frostnas("top --db " + db_), "missing --experiment ID");
  expect_input_error(run_frostnas("export --db " + db_ + " --experiment 1 --top 0 --out x"),
                     "--top: 0 is out of range (allowed: >= 1)");
  EXPECT_FALSE(fs::exists(db_));  // no partial results: nothing was created
}
