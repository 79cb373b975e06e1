#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_reader.h"
#include "experiments/pipeline/pipeline_config.h"
#include "tests/common/cli_runner.h"

namespace frostnas {
namespace {

nlohmann::json repro() {
  return load_json_file(testing::source_path("experiments") + "/frostnet_repro.json");
}

std::string error_of(const nlohmann::json& j, bool quick = false) {
  try {
    pipeline_config_from_json(j, "p.json", testing::source_path("experiments"), quick);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(PipelineConfig, ReadsTheShippedConfig) {
  const PipelineConfig c =
      load_pipeline_config(testing::source_path("experiments") + "/frostnet_repro.json", false);
  EXPECT_EQ(c.name, "frostnet-repro");
  EXPECT_EQ(c.search.samples, 40);
  EXPECT_EQ(c.search.space.name,
            load_search_space(testing::source_path("experiments") + "/spaces/proxy.json").name);
  EXPECT_EQ(c.retrain.top_k, 3);
  EXPECT_EQ(c.retrain.train.time_budget_s, 420);
  EXPECT_EQ(c.baselines.frostnet.size(), 3u);
  EXPECT_FALSE(c.cell_search.is_null());
  EXPECT_FALSE(c.quick);
}

TEST(PipelineConfig, QuickAppliesTheMergePatchInsideReferencedFiles) {
  const PipelineConfig c =
      load_pipeline_config(testing::source_path("experiments") + "/frostnet_repro.json", true);
  EXPECT_TRUE(c.quick);
  EXPECT_EQ(c.search.samples, 6);
  EXPECT_EQ(c.search.data.train_subset, 3000);
  EXPECT_EQ(c.search.train.batch_size, 128);  // untouched by the patch
  EXPECT_EQ(c.retrain.top_k, 2);
  EXPECT_EQ(c.retrain.train.time_budget_s, 90);
  EXPECT_EQ(c.baselines.frostnet, std::vector<std::string>{"frostnet-small-1.0"});
  EXPECT_EQ(c.measure.rounds, 15);
}

TEST(PipelineConfig, StoredJsonRoundTrips) {
  const PipelineConfig c =
      load_pipeline_config(testing::source_path("experiments") + "/frostnet_repro.json", true);
  const PipelineConfig back = pipeline_config_from_json(c.to_json(), "stored", ".", false);
  EXPECT_TRUE(back.quick);
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.search.space, c.search.space);
}

TEST(PipelineConfig, RejectsBadInputWithOneLine) {
  nlohmann::json j = repro();
  j["format"] = "frostnas.search/1";
  EXPECT_NE(error_of(j).find("p.json: $.format"), std::string::npos) << error_of(j);

  j = repro();
  j["baselines"]["frostnet"] = {"frostnet-huge-1.0"};
  EXPECT_NE(error_of(j).find("$.baselines.frostnet[0]"), std::string::npos) << error_of(j);
  EXPECT_NE(error_of(j).find("frostnet-small-1.0"), std::string::npos) << error_of(j);

  j = repro();
  j["baselines"]["mobilenet_widths"] = {0.5, -1};
  EXPECT_NE(error_of(j).find("$.baselines.mobilenet_widths[1]"), std::string::npos);

  j = repro();
  j["retrain"]["top_k"] = 0;
  EXPECT_NE(error_of(j).find("$.retrain.top_k"), std::string::npos) << error_of(j);

  j = repro();
  j["colour"] = "blue";
  EXPECT_NE(error_of(j).find("colour"), std::string::npos) << error_of(j);

  j = repro();
  j["search"] = 3;
  EXPECT_NE(error_of(j).find("$.search"), std::string::npos) << error_of(j);

  j = repro();
  j["quick"] = 1;
  EXPECT_NE(error_of(j, true).find("$.quick"), std::string::npos) << error_of(j, true);

  j = repro();
  j["search"] = "no_such_file.json";
  EXPECT_NE(error_of(j).find("no_such_file.json"), std::string::npos) << error_of(j);

  for (const std::string& e : {error_of(j)}) EXPECT_EQ(e.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace frostnas
