// A cell search study end to end (the unit tests' tiny search, 2 variants x 2 seeds), its
// resumption after a stop, and the analysis of several metrics at once.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>

#include "search/study/study_runner.h"
#include "tests/common/temp_dir.h"
#include "tests/search/study/tiny_study.h"

using namespace frostnas;
using frostnas::testing::one_thread;
using frostnas::testing::TempDir;
using frostnas::testing::tiny_cell_study_json;
using frostnas::testing::tiny_study_json;

namespace {

/// The op weights and decided fraction of every run by (variant, seed).
std::map<std::pair<std::string, int64_t>, nlohmann::json> measures(
    const std::vector<StudyRunRecord>& runs) {
  return frostnas::testing::metrics_by_run(runs, {"cell_search_experiment"});
}

}  // namespace

TEST(CellSearchStudy, RunsEveryVariantAndSeedAsARecordedCellSearch) {
  const StudyConfig config = study_config_from_json(tiny_cell_study_json(), "test");
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const StudyOutcome o = run_study(config, store, one_thread());
  ASSERT_FALSE(o.interrupted);
  ASSERT_EQ(o.runs.size(), 4u);
  for (const StudyRunRecord& r : o.runs) {
    ASSERT_EQ(r.status, StudyRunStatus::kDone) << r.error;
    // Each run is a cell search experiment of its own, named after the study's run.
    const ExperimentRecord e =
        store.get_experiment(r.metrics.at("cell_search_experiment").get<int64_t>());
    EXPECT_EQ(e.kind, "cell_search");
    EXPECT_EQ(e.status, ExperimentStatus::kDone);
    EXPECT_EQ(e.name, study_cell_search_name(config, o.experiment_id, r.variant, r.seed));
    EXPECT_EQ(e.seed, r.seed);
    EXPECT_EQ(e.config.value("precision", "qat"), r.variant);
    // The first stage offers all 8 ops on every edge: their mean weights sum to 1.
    double sum = 0;
    for (const std::string& op : cell_op_names()) {
      const double w = r.metrics.at("op_weight@1:" + op).get<double>();
      EXPECT_TRUE(w > 0 && w < 1) << op << " " << w;
      sum += w;
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
    // The last stage keeps 2 ops per edge; "op_weight:<op>" is that stage's.
    double last = 0;
    for (const std::string& op : cell_op_names())
      last += r.metrics.at("op_weight:" + op).get<double>();
    EXPECT_NEAR(last, 1.0, 1e-9);
    EXPECT_EQ(r.metrics.at("op_weight:se"), r.metrics.at("op_weight@3:se"));
    const double decided = r.metrics.at("decided_fraction").get<double>();
    EXPECT_GE(decided, 0.0);
    EXPECT_LE(decided, 1.0);
  }
  // QAT and FP32 of one seed start from the same supernet and data: their first weights-only
  // epoch is the same, yet the searches differ once fake quantization is on.
  const auto m = measures(o.runs);
  EXPECT_NE(m.at({"qat", 0}), m.at({"fp32", 0}));
  EXPECT_NE(m.at({"qat", 0}), m.at({"qat", 1}));

  const StudyAnalysis a = analyze_study(config, o.runs);
  ASSERT_EQ(a.per_metric.size(), 5u);
  ASSERT_EQ(a.comparisons.size(), 5u);  // one comparison x five metrics
  EXPECT_EQ(a.comparisons[3].a_metric, "op_weight:se");
  for (const ComparisonResult& r : a.comparisons) {
    ASSERT_TRUE(r.stats.has_value()) << r.metric_label();
    EXPECT_LE(r.same_sign, 2);
  }
  // Kendall's W of the first stage's three ops, per variant, over both seeds.
  ASSERT_EQ(a.agreement.size(), 2u);
  EXPECT_EQ(a.agreement[0].variant, "qat");
  EXPECT_EQ(a.agreement[0].family, "op_weight@1");
  EXPECT_EQ(a.agreement[0].ops, (std::vector<std::string>{"se", "avg_pool_3x3", "max_pool_3x3"}));
  EXPECT_EQ(a.agreement[0].seeds, 2);
  EXPECT_TRUE(a.agreement[0].w >= 0 && a.agreement[0].w <= 1) << a.agreement[0].w;
  const nlohmann::json j = to_json(a);
  EXPECT_EQ(j.at("kind"), "cell_search");
  EXPECT_EQ(j.at("agreement").size(), 2u);
}

TEST(CellSearchStudy, ResumeContinuesTheStoppedCellSearchAndEqualsAnUninterruptedStudy) {
  nlohmann::json j = tiny_cell_study_json();
  j["variants"] = {{{"name", "qat"}}, {{"name", "fp32"}, {"cell_search", {{"precision", "fp32"}}}}};
  const StudyConfig config = study_config_from_json(j, "test");
  TempDir dir;
  Store whole(dir.file("whole.sqlite"));
  const StudyOutcome reference = run_study(config, whole, one_thread());

  // Stop the second run: the flag is raised as it starts and its search polls it.
  Store store(dir.file("parts.sqlite"));
  std::atomic<bool> stop{false};
  StudyOptions first = one_thread();
  first.stop = &stop;
  first.on_progress = [&](const StudyProgress& p) {
    if (p.index == 1 && !p.record) stop = true;
  };
  const StudyOutcome cut = run_study(config, store, first);
  ASSERT_TRUE(cut.interrupted);
  ASSERT_EQ(store.list_experiments("cell_search").size(), 2u);
  EXPECT_EQ(store.list_experiments("cell_search")[1].status, ExperimentStatus::kInterrupted);

  const StudyOutcome resumed = resume_study(store, cut.experiment_id, one_thread());
  ASSERT_FALSE(resumed.interrupted);
  // The stopped search was continued, not started again beside it.
  EXPECT_EQ(store.list_experiments("cell_search").size(), 4u);
  const auto got = measures(resumed.runs);
  const auto want = measures(reference.runs);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [run, m] : want) {
    for (const auto& [key, value] : m.items()) {
      if (value.is_number_float()) {
        EXPECT_NEAR(got.at(run).at(key).get<double>(), value.get<double>(), 1e-9) << key;
      } else {
        EXPECT_EQ(got.at(run).at(key), value) << key;
      }
    }
  }
}

TEST(StudyAnalysis, HolmCorrectsOverEveryComparisonAndMetric) {
  nlohmann::json j = tiny_study_json();
  j["seeds"] = {0, 1, 2, 3, 4};
  j.erase("metric");
  j["metrics"] = {"fp32_acc", "int8_acc"};
  j["variants"] = {{{"name", "x"}}, {{"name", "y"}}, {{"name", "z"}}};
  j["comparisons"] = {{{"a", "x"}, {"b", "y"}},
                      {{"a", "x"}, {"b", "z"}},
                      {{"a", "z"}, {"b", "y"}, {"a_metric", "fp32_acc"}, {"b_metric", "int8_acc"}}};
  const StudyConfig config = study_config_from_json(j, "test");
  const std::map<std::string, std::vector<double>> fp32{{"x", {80.0, 81.5, 79.0, 82.0, 80.5}},
                                                        {"y", {81.0, 83.0, 79.5, 84.0, 81.0}},
                                                        {"z", {80.2, 81.4, 79.3, 82.1, 80.9}}};
  const std::map<std::string, std::vector<double>> int8{{"x", {78.0, 80.0, 77.5, 80.0, 79.0}},
                                                        {"y", {80.5, 82.0, 79.0, 83.0, 80.0}},
                                                        {"z", {77.2, 79.4, 78.3, 80.1, 77.9}}};
  std::vector<StudyRunRecord> runs;
  for (const auto& [v, values] : fp32) {
    for (int64_t s = 0; s < 5; ++s) {
      StudyRunRecord r;
      r.variant = v;
      r.seed = s;
      r.status = StudyRunStatus::kDone;
      r.metrics = {{"fp32_acc", values[s]}, {"int8_acc", int8.at(v)[s]}};
      runs.push_back(r);
    }
  }
  const StudyAnalysis a = analyze_study(config, runs);
  // x-y and x-z on both metrics, then z's FP32 against y's INT8: five tests.
  ASSERT_EQ(a.comparisons.size(), 5u);
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"x", "y"}, {"x", "y"}, {"x", "z"}, {"x", "z"}, {"z", "y"}};
  const std::vector<std::string> a_metric{"fp32_acc", "int8_acc", "fp32_acc", "int8_acc",
                                          "fp32_acc"};
  const std::vector<std::string> b_metric{"fp32_acc", "int8_acc", "fp32_acc", "int8_acc",
                                          "int8_acc"};
  std::vector<double> t_p, flip_p;
  for (size_t i = 0; i < 5; ++i) {
    const ComparisonResult& r = a.comparisons[i];
    EXPECT_EQ(r.a, pairs[i].first);
    EXPECT_EQ(r.b_metric, b_metric[i]);
    const auto& av = (a_metric[i] == "fp32_acc" ? fp32 : int8).at(pairs[i].first);
    const auto& bv = (b_metric[i] == "fp32_acc" ? fp32 : int8).at(pairs[i].second);
    const PairedComparison want = compare_paired(av, bv);
    ASSERT_TRUE(r.stats.has_value());
    EXPECT_DOUBLE_EQ(r.stats->mean_diff, want.mean_diff);
    t_p.push_back(want.t_p);
    flip_p.push_back(want.sign_flip_p);
  }
  const std::vector<double> t_holm = holm_adjust(t_p), flip_holm = holm_adjust(flip_p);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(a.comparisons[i].t_p_holm, t_holm[i]) << i;
    EXPECT_DOUBLE_EQ(a.comparisons[i].sign_flip_p_holm, flip_holm[i]) << i;
  }
  // Holm over five tests is stricter than over the two of one metric.
  EXPECT_GT(a.comparisons[0].t_p_holm, holm_adjust({t_p[0], t_p[2]})[0]);
  // y - x on FP32: +1.0, +1.5, +0.5, +2.0, +0.5, every seed positive.
  EXPECT_EQ(a.comparisons[0].same_sign, 5);
  // y's INT8 minus z's FP32: +0.3 +0.6 -0.3 +0.9 -0.9, mean > 0 in 3 seeds.
  EXPECT_EQ(a.comparisons[4].same_sign, 3);
  ASSERT_EQ(a.per_metric.size(), 2u);
  EXPECT_EQ(a.per_metric[1].metric, "int8_acc");
  EXPECT_DOUBLE_EQ(a.per_metric[1].variants[2].summary.mean, summarize(int8.at("z")).mean);
  EXPECT_TRUE(a.agreement.empty());  // a train study ranks no ops
}
