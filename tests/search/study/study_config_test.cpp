#include <gtest/gtest.h>

#include "common/error.h"
#include "search/study/study_config.h"
#include "tests/common/input_error.h"
#include "tests/common/temp_dir.h"
#include "tests/search/study/tiny_study.h"

using namespace frostnas;
using frostnas::testing::tiny_cell_study_json;
using frostnas::testing::tiny_study_json;

namespace {

/// The InputError message of reading `j`, "" when it reads.
std::string study_error(const nlohmann::json& j) {
  return frostnas::testing::input_error([&] { study_config_from_json(j, "s.json"); });
}

}  // namespace

TEST(StudyConfig, ReadsVariantsAsPatchesOverTheBase) {
  const StudyConfig c = study_config_from_json(tiny_study_json(), "s.json");
  EXPECT_EQ(c.name, "tiny");
  EXPECT_EQ(c.kind, StudyKind::kTrain);
  EXPECT_EQ(c.seeds, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(c.metrics, (std::vector<std::string>{"fp32_acc"}));
  EXPECT_EQ(c.split, "val");
  EXPECT_EQ(c.data.name, "synthetic");
  EXPECT_EQ(c.data.train_subset, 96);
  ASSERT_EQ(c.variants.size(), 2u);
  // The patch changes the learning rate only; the optimizer's name stays the base's.
  EXPECT_DOUBLE_EQ(c.variants[0].train.optimizer.lr, 0.01);
  EXPECT_EQ(c.variants[0].train.optimizer.name, "sgd");
  EXPECT_DOUBLE_EQ(c.variants[1].train.optimizer.lr, 0.05);
  EXPECT_EQ(c.variants[1].train.batch_size, 32);
  EXPECT_EQ(c.variants[1].net.name, "tiny");
  ASSERT_EQ(c.comparisons.size(), 1u);
  EXPECT_EQ(c.comparisons[0].a, "low");
  ASSERT_TRUE(criteria_of(c, c.comparisons[0]).has_value());
  EXPECT_DOUBLE_EQ(criteria_of(c, c.comparisons[0])->margin, 0.5);
}

TEST(StudyConfig, WritesWhatItReadsBack) {
  nlohmann::json j = tiny_study_json();
  j["variants"][1]["arch"] = "frostnet-small-0.35";
  j["comparisons"][0]["criteria"] = {{"alpha", 0.01}, {"margin", 1.0}};
  const StudyConfig c = study_config_from_json(j, "s.json");
  ASSERT_TRUE(c.variants[1].arch.has_value());
  EXPECT_EQ(c.variants[1].net.name, "frostnet-small-0.35");
  const nlohmann::json written = to_json(c);
  EXPECT_EQ(to_json(study_config_from_json(written, "stored")), written);
  EXPECT_DOUBLE_EQ(criteria_of(c, c.comparisons[0])->alpha, 0.01);
}

TEST(StudyConfig, RefusesUnknownKeysAtEveryDepthWithTheirPath) {
  nlohmann::json j = tiny_study_json();
  j["variants"][1]["train"] = {{"optimizer", {{"bogus", 1}}}};
  EXPECT_NE(study_error(j).find("s.json: $.variants[1].train.optimizer.bogus: unknown field"),
            std::string::npos)
      << study_error(j);
  j = tiny_study_json();
  j["base"]["data"]["subset"] = 10;
  EXPECT_NE(study_error(j).find("s.json: $.base.data.subset: unknown field"), std::string::npos)
      << study_error(j);
  j = tiny_study_json();
  j["criteria"]["beta"] = 0.2;
  EXPECT_NE(study_error(j).find("$.criteria.beta: unknown field"), std::string::npos);
  j = tiny_study_json();
  j["extra"] = true;
  EXPECT_NE(study_error(j).find("$.extra: unknown field"), std::string::npos);
}

TEST(StudyConfig, RefusesAComparisonOfAnUndeclaredVariantListingTheNames) {
  nlohmann::json j = tiny_study_json();
  j["comparisons"][0]["b"] = "medium";
  EXPECT_NE(study_error(j).find(
                "s.json: $.comparisons[0].b: \"medium\" is not allowed (allowed: low, high)"),
            std::string::npos)
      << study_error(j);
  j["comparisons"][0]["b"] = "low";
  EXPECT_NE(study_error(j).find("with itself"), std::string::npos) << study_error(j);
}

TEST(StudyConfig, RefusesABadMetricKindSplitOrSeedsListingTheAllowedValues) {
  nlohmann::json j = tiny_study_json();
  j["metric"] = "top5";
  EXPECT_NE(study_error(j).find(
                "$.metric: \"top5\" is not allowed (allowed: int8_acc, qat_acc, fp32_acc, "
                "int8_drop)"),
            std::string::npos)
      << study_error(j);
  j = tiny_study_json();
  j["kind"] = "search";
  EXPECT_NE(study_error(j).find("$.kind: \"search\" is not allowed (allowed: train, cell_search)"),
            std::string::npos)
      << study_error(j);
  j = tiny_study_json();
  j["split"] = "train";
  EXPECT_NE(study_error(j).find("(allowed: test, val)"), std::string::npos);
  j = tiny_study_json();
  j["seeds"] = {3, 3};
  EXPECT_NE(study_error(j).find("$.seeds[1]: seed 3 is listed twice"), std::string::npos)
      << study_error(j);
  j["seeds"] = {3};
  EXPECT_NE(study_error(j).find("$.seeds: 1 seeds (allowed: 2..24"), std::string::npos)
      << study_error(j);
}

TEST(StudyConfig, RefusesSeedsAndThreadsInsideTrainAndBadTrainValues) {
  nlohmann::json j = tiny_study_json();
  j["variants"][0]["train"]["seed"] = 4;
  EXPECT_NE(study_error(j).find("$.variants[0].train.seed: set by the study's seeds"),
            std::string::npos)
      << study_error(j);
  j = tiny_study_json();
  j["base"]["train"]["threads"] = 2;
  EXPECT_NE(study_error(j).find("$.base.train.threads: set by --threads"), std::string::npos);
  j = tiny_study_json();
  j["variants"][0]["train"]["batch_size"] = 0;
  EXPECT_NE(study_error(j).find("$.variants[0].train"), std::string::npos) << study_error(j);
  j = tiny_study_json();
  j["variants"][1]["name"] = "low";
  EXPECT_NE(study_error(j).find("$.variants[1].name: variant \"low\" is declared twice"),
            std::string::npos)
      << study_error(j);
}

TEST(StudyConfig, ResolvesArchitectureFilesAgainstTheStudyFile) {
  // The example ships with the sources and names its architecture relative to itself.
  const StudyConfig c =
      load_study_config(std::string(FROSTNAS_SOURCE_DIR) + "/experiments/studies/example.json");
  EXPECT_EQ(c.arch.name, "proxy-default");
  EXPECT_EQ(c.comparisons.size(), 2u);
  frostnas::testing::TempDir dir;
  nlohmann::json j = tiny_study_json();
  j["base"]["arch"] = "missing.json";
  const std::string path = dir.write("s.json", j.dump());
  EXPECT_NE(frostnas::testing::input_error([&] {
              load_study_config(path);
            }).find("$.base.arch: \"missing.json\" is neither a built-in"),
            std::string::npos);
}

TEST(StudyConfig, ReadsACellSearchStudyWithPatchedVariantsAndSeveralMetrics) {
  const StudyConfig c = study_config_from_json(tiny_cell_study_json(), "s.json");
  EXPECT_EQ(c.kind, StudyKind::kCellSearch);
  ASSERT_EQ(c.metrics.size(), 5u);
  EXPECT_EQ(c.metrics[0], "op_weight@1:se");
  ASSERT_EQ(c.variants.size(), 2u);
  EXPECT_EQ(c.variants[0].cell_search.precision, SearchPrecision::kQat);
  EXPECT_EQ(c.variants[1].cell_search.precision, SearchPrecision::kFp32);
  EXPECT_EQ(c.variants[1].cell_search.stages.size(), 3u);
  EXPECT_EQ(c.variants[1].cell_search.data.train_subset, 32);
  const nlohmann::json written = to_json(c);
  EXPECT_EQ(to_json(study_config_from_json(written, "stored")), written);
  // The older single metric still reads.
  nlohmann::json j = tiny_cell_study_json();
  j.erase("metrics");
  j["metric"] = "op_weight:skip";
  EXPECT_EQ(study_config_from_json(j, "s.json").metrics,
            (std::vector<std::string>{"op_weight:skip"}));
}

TEST(StudyConfig, RefusesAnUnknownMetricInOneLineNamingFileFieldAndAllowedValues) {
  nlohmann::json j = tiny_cell_study_json();
  j["metrics"][1] = "op_weight:conv_9x9";
  const std::string error = study_error(j);
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find("s.json: $.metrics[1]: \"op_weight:conv_9x9\" is not allowed (allowed: "
                       "decided_fraction, op_weight:<op>, op_weight@<stage>:<op> (op: none, "),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("; stage: 1..3)"), std::string::npos) << error;
  j["metrics"][1] = "op_weight@4:se";  // the search has 3 stages
  EXPECT_NE(study_error(j).find("$.metrics[1]: \"op_weight@4:se\" is not allowed"),
            std::string::npos);
  j = tiny_study_json();
  j["metrics"] = {"int8_acc", "int8_accuracy"};
  j.erase("metric");
  EXPECT_NE(study_error(j).find("s.json: $.metrics[1]: \"int8_accuracy\" is not allowed (allowed: "
                                "int8_acc, qat_acc, fp32_acc, int8_drop)"),
            std::string::npos)
      << study_error(j);
  j["metric"] = "int8_acc";
  EXPECT_NE(study_error(j).find("$.metric: give metric or metrics, not both"), std::string::npos);
  j = tiny_study_json();
  j["comparisons"][0]["a_metric"] = "fp32_acc";
  EXPECT_NE(study_error(j).find("give both a_metric and b_metric"), std::string::npos);
  j["comparisons"][0]["b_metric"] = "op_weight:se";
  EXPECT_NE(study_error(j).find("$.comparisons[0].b_metric: \"op_weight:se\" is not allowed"),
            std::string::npos)
      << study_error(j);
}

TEST(StudyConfig, RefusesTrainFieldsAndSeedsInACellSearchStudy) {
  nlohmann::json j = tiny_cell_study_json();
  j["variants"][1]["train"] = nlohmann::json::object();
  EXPECT_NE(study_error(j).find("$.variants[1].train: unknown field"), std::string::npos)
      << study_error(j);
  j = tiny_cell_study_json();
  j["base"]["cell_search"]["seed"] = 2;
  EXPECT_NE(study_error(j).find("$.base.cell_search.seed: set by the study's seeds"),
            std::string::npos)
      << study_error(j);
  j = tiny_cell_study_json();
  j["variants"][1]["cell_search"]["precision"] = "int4";
  EXPECT_NE(study_error(j).find("$.variants[1].cell_search.precision"), std::string::npos)
      << study_error(j);
}

TEST(StudyConfig, ComparesTwoMetricsAcrossVariantsWhenAComparisonNamesBoth) {
  nlohmann::json j = tiny_study_json();
  j["comparisons"].push_back(
      {{"a", "low"}, {"b", "high"}, {"a_metric", "fp32_acc"}, {"b_metric", "int8_acc"}});
  const StudyConfig c = study_config_from_json(j, "s.json");
  ASSERT_EQ(c.comparisons.size(), 2u);
  EXPECT_EQ(c.comparisons[1].a_metric, "fp32_acc");
  EXPECT_EQ(c.comparisons[1].b_metric, "int8_acc");
  EXPECT_EQ(to_json(study_config_from_json(to_json(c), "stored")), to_json(c));
}

TEST(StudyConfig, TheShippedStudiesParse) {
  for (const char* name :
       {"example", "statassist_gradboost", "qat_penalised_ops", "cell_search_qat_vs_fp32"}) {
    const std::string path =
        std::string(FROSTNAS_SOURCE_DIR) + "/experiments/studies/" + name + ".json";
    EXPECT_NO_THROW(load_study_config(path)) << path;
  }
  const StudyConfig c = load_study_config(std::string(FROSTNAS_SOURCE_DIR) +
                                          "/experiments/studies/cell_search_qat_vs_fp32.json");
  EXPECT_EQ(c.kind, StudyKind::kCellSearch);
  EXPECT_GE(c.seeds.size(), 6u);
}
