#include <cmath>

#include <gtest/gtest.h>

#include "common/error.h"
#include "search/report/report_data.h"
#include "space/net_spec.h"
#include "space/resolved_net.h"
#include "tests/search/report/report_fixture.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;
using frostnas::testing::make_report_db;

namespace {

std::vector<std::string> labels(const ReportData& d, const std::vector<size_t>& idx) {
  std::vector<std::string> out;
  for (size_t i : idx) out.push_back(d.models[i].label);
  return out;
}

const ReportModel& by_label(const ReportData& d, const std::string& label) {
  for (const auto& m : d.models) {
    if (m.label == label) return m;
  }
  throw std::runtime_error("no model " + label);
}

}  // namespace

TEST(ReportData, GathersModelsFrontsAndTop) {
  TempDir dir;
  const auto ids = make_report_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  ReportOptions o;
  o.experiment_id = ids.search_id;
  o.baseline_experiments = {ids.baseline_id};
  o.top_k = 3;
  const ReportData d = gather_report_data(store, o);
  EXPECT_EQ(d.experiment.name, "quick <search> & \"co\"");
  EXPECT_EQ(d.latency_precision, "INT8");
  ASSERT_EQ(d.models.size(), 7u);
  EXPECT_EQ(labels(d, d.group(kSearchGroup)),
            (std::vector<std::string>{"#1", "#2", "#3", "#4", "#5"}));
  EXPECT_EQ(labels(d, d.group(kBaselineGroup)),
            (std::vector<std::string>{"frostnet-small", "mbv2 <&> \"x\""}));
  EXPECT_EQ(labels(d, d.front), (std::vector<std::string>{"#1", "frostnet-small", "#2", "#4"}));
  EXPECT_EQ(labels(d, d.baseline_front),
            (std::vector<std::string>{"frostnet-small", "mbv2 <&> \"x\""}));
  EXPECT_EQ(labels(d, d.top), (std::vector<std::string>{"#4", "#2", "#3"}));

  EXPECT_EQ(by_label(d, "#1").beyond_baselines, std::optional<bool>(true));
  EXPECT_EQ(by_label(d, "#2").beyond_baselines, std::optional<bool>(true));
  EXPECT_EQ(by_label(d, "#3").beyond_baselines, std::optional<bool>(false));
  EXPECT_EQ(by_label(d, "#4").beyond_baselines, std::optional<bool>(true));
  EXPECT_FALSE(by_label(d, "#5").plotted);
  EXPECT_FALSE(by_label(d, "#5").beyond_baselines.has_value());
  EXPECT_FALSE(by_label(d, "frostnet-small").beyond_baselines.has_value());

  // Measured latency wins over the prediction.
  EXPECT_DOUBLE_EQ(*by_label(d, "#4").latency_ms, 0.90);
  EXPECT_EQ(by_label(d, "#4").latency_source, "measured");
  EXPECT_EQ(by_label(d, "#1").latency_source, "predicted");
  EXPECT_DOUBLE_EQ(*by_label(d, "#4").int8_drop(), 2.5);
  EXPECT_FALSE(by_label(d, "#2").int8_drop().has_value());
  // Parameter counts come from the architecture.
  const NetSpec net = net_spec_from_json(by_label(d, "#1").arch, "test");
  EXPECT_EQ(by_label(d, "#1").params, resolve(net).params());
  EXPECT_GT(*by_label(d, "#1").params, 0);
}

TEST(ReportData, ArchWeightsAreSoftmaxedPerStageAndBadDocumentsWarn) {
  TempDir dir;
  const auto ids = make_report_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  ReportOptions o;
  o.experiment_id = ids.search_id;
  const ReportData d = gather_report_data(store, o);
  ASSERT_EQ(d.arch_weights.size(), 2u);
  const StageWeights& s1 = d.arch_weights[0];
  EXPECT_EQ(s1.stage, 1);
  ASSERT_EQ(s1.epochs.size(), 2u);
  EXPECT_EQ(s1.epochs[1].epoch, 1);
  const EdgeWeights& e = s1.epochs[1].edges.at(0);
  EXPECT_EQ(e.name, "0->1");
  EXPECT_EQ(e.ops, (std::vector<std::string>{"none", "skip", "dwconv_3x3"}));
  EXPECT_NEAR(e.probs[0], 1.0 / 8, 1e-12);
  EXPECT_NEAR(e.probs[1], 2.0 / 8, 1e-12);
  EXPECT_NEAR(e.probs[2], 5.0 / 8, 1e-12);
  const auto& s2 = d.arch_weights[1].epochs.at(0).edges;
  ASSERT_EQ(s2.size(), 2u);
  EXPECT_EQ(s2[1].name, "normal[1]");
  EXPECT_EQ(s2[1].ops, (std::vector<std::string>{"skip", "conv_1x1"}));
  EXPECT_NEAR(s2[1].probs[0], 0.75, 1e-12);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("stage 3 epoch 0"), std::string::npos) << d.warnings[0];
  // Without baselines nothing is "beyond" anything.
  EXPECT_FALSE(by_label(d, "#1").beyond_baselines.has_value());
  EXPECT_TRUE(d.baseline_front.empty());
}

TEST(ReportData, BaselinesNamedByTheExperimentAreIncluded) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  ExperimentRecord base;
  base.kind = "baseline";
  base.name = "b";
  const int64_t b = store.create_experiment(base).id;
  frostnas::testing::add_done(store, b, "mbv2", 16, 60.0, 0.5, std::nullopt, 61.0);
  ExperimentRecord e;
  e.kind = "pipeline";
  e.name = "p";
  e.config = {{"baseline_experiments", {b, 99}}};
  const int64_t p = store.create_experiment(e).id;
  ReportOptions o;
  o.experiment_id = p;
  const ReportData d = gather_report_data(store, o);
  ASSERT_EQ(d.baseline_experiments.size(), 1u);
  EXPECT_EQ(d.baseline_experiments[0].id, b);
  EXPECT_EQ(labels(d, d.group(kBaselineGroup)), std::vector<std::string>{"mbv2"});
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("99"), std::string::npos);
  EXPECT_TRUE(d.top.empty());
}

TEST(ReportData, UnknownIdsNameTheFlag) {
  TempDir dir;
  const auto ids = make_report_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  ReportOptions o;
  o.experiment_id = 42;
  try {
    gather_report_data(store, o);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "--experiment: 42: no such experiment in " +
                                         dir.file("db.sqlite") + " (known: 1, 2, 3)");
  }
  o.experiment_id = ids.search_id;
  o.baseline_experiments = {ids.baseline_id, 77};
  try {
    gather_report_data(store, o);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--baselines: 77: no such experiment", 0), 0u)
        << e.what();
  }
}

TEST(ReportData, ParsesIdLists) {
  EXPECT_EQ(parse_id_list("3", "--baselines"), (std::vector<int64_t>{3}));
  EXPECT_EQ(parse_id_list("3, 4,12", "--baselines"), (std::vector<int64_t>{3, 4, 12}));
  for (const char* bad : {"", "3,", "x", "0", "-1", "3;4"}) {
    try {
      parse_id_list(bad, "--baselines");
      FAIL() << "expected InputError for \"" << bad << "\"";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--baselines: ", 0), 0u) << e.what();
    }
  }
}

TEST(ReportData, ParsesArchWeightForms) {
  const auto rows = parse_arch_weights(nlohmann::json::array({{0.0, 0.0}, {1.0, 1.0}}), "s");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].name, "edge 1");
  EXPECT_EQ(rows[1].ops, (std::vector<std::string>{"op0", "op1"}));
  EXPECT_NEAR(rows[1].probs[0], 0.5, 1e-12);

  const auto probs = parse_arch_weights(
      {{"edges", {{{"from", 0}, {"to", 2}, {"ops", {"a", "b"}}, {"probs", {1.0, 3.0}}}}}}, "s");
  ASSERT_EQ(probs.size(), 1u);
  EXPECT_EQ(probs[0].name, "0->2");
  EXPECT_NEAR(probs[0].probs[1], 0.75, 1e-12);  // probabilities are renormalised, not softmaxed

  EXPECT_THROW(
      parse_arch_weights({{"edges", {{{"name", "e"}, {"ops", {"a"}}, {"alpha", {1, 2}}}}}}, "s"),
      InputError);
  EXPECT_THROW(parse_arch_weights({{"edges", {{{"name", "e"}}}}}, "s"), InputError);
  EXPECT_THROW(parse_arch_weights({{"note", "x"}}, "s"), InputError);
  EXPECT_THROW(parse_arch_weights(3, "s"), InputError);
  const auto sm = softmax({1000.0, 1000.0});  // stable for large logits
  EXPECT_NEAR(sm[0], 0.5, 1e-12);
}

TEST(ReportData, PipelineStagesNameSearchFoundModelsBaselinesAndCellWeights) {
  TempDir dir;
  const int64_t pipeline = frostnas::testing::make_pipeline_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  ReportOptions o;
  o.experiment_id = pipeline;
  const ReportData d = gather_report_data(store, o);
  EXPECT_EQ(labels(d, d.group(kSearchGroup)), (std::vector<std::string>{"#1", "#2"}));
  EXPECT_EQ(labels(d, d.group(kFoundGroup)), std::vector<std::string>{"found-1"});
  EXPECT_EQ(labels(d, d.group(kBaselineGroup)), std::vector<std::string>{"frostnet-small"});
  // With retrained networks the front is over them and the baselines only.
  EXPECT_EQ(d.front_scope, "retrained and baselines");
  EXPECT_EQ(labels(d, d.front), (std::vector<std::string>{"frostnet-small", "found-1"}));
  EXPECT_EQ(by_label(d, "found-1").beyond_baselines, std::optional<bool>(true));
  EXPECT_EQ(by_label(d, "#1").beyond_baselines, std::optional<bool>(false));
  EXPECT_EQ(by_label(d, "#2").beyond_baselines, std::optional<bool>(false));
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("candidate 9999"), std::string::npos) << d.warnings[0];
  ASSERT_EQ(d.arch_weights.size(), 1u);
  const EdgeWeights& e = d.arch_weights[0].epochs.at(0).edges.at(0);
  EXPECT_EQ(e.name, "0->1");
  EXPECT_EQ(e.ops, (std::vector<std::string>{"skip", "se"}));
  EXPECT_NEAR(e.probs[0], 0.25, 1e-12);  // probabilities stay as they are
  EXPECT_NEAR(e.probs[1], 0.75, 1e-12);
}
