#include <gtest/gtest.h>

#include "common/json_reader.h"
#include "experiments/pipeline/pipeline_config.h"
#include "tests/common/cli_runner.h"
#include "tests/common/input_error.h"

namespace frostnas {
namespace {

std::string pipeline_json_error(const nlohmann::json& j) {
  return testing::input_error(
      [&] { pipeline_config_from_json(j, "p.json", testing::source_path("experiments"), false); });
}

nlohmann::json shipped_pipeline_json() {
  return load_json_file(testing::source_path("experiments") + "/frostnet_repro.json");
}

TEST(PipelineConfig, RefusesTypoedKeysInEverySectionNamingTheirPath) {
  nlohmann::json j = shipped_pipeline_json();
  j["measure"] = {{"round", 3}};
  EXPECT_EQ(pipeline_json_error(j),
            "p.json: $.measure.round: unknown field (allowed fields: threads, warmup, rounds)");

  j = shipped_pipeline_json();
  j["retrain"] = {{"train", {{"optimizer", {{"lrr", 0.1}}}}}};
  EXPECT_EQ(pipeline_json_error(j).rfind("p.json: $.retrain.train.optimizer.lrr: unknown field", 0),
            0u)
      << pipeline_json_error(j);

  j = shipped_pipeline_json();
  j["baselines"] = {{"mobilenet_width", {1.0}}};
  EXPECT_EQ(pipeline_json_error(j),
            "p.json: $.baselines.mobilenet_width: unknown field (allowed fields: frostnet, "
            "mobilenet_widths)");

  j = shipped_pipeline_json();
  j["retrain"] = {{"data", {{"val_sise", 10}}}};
  EXPECT_EQ(pipeline_json_error(j).rfind("p.json: $.retrain.data.val_sise: unknown field", 0), 0u)
      << pipeline_json_error(j);
}

}  // namespace
}  // namespace frostnas
