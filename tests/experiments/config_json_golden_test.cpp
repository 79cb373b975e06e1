// to_json() of every configuration kind, compared with the JSON the configuration code wrote
// before the configs moved onto common/config_fields.h (tests/data/config_json/*.json), and
// read back: experiments store their configuration and compare it with their checkpoint's on
// resume, so the written JSON must never change by accident.
// After a deliberate format change, regenerate the files with
//   FROSTNAS_WRITE_CONFIG_JSON=1 build/tests/test_experiments --gtest_filter='ConfigJsonGolden.*'

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/error.h"
#include "common/json_reader.h"
#include "experiments/pipeline/pipeline_config.h"
#include "search/cell/cell_search.h"
#include "search/driver/search_config.h"
#include "tests/common/cli_runner.h"

namespace frostnas {
namespace {

std::string golden_config_path(const std::string& name) {
  return testing::source_path("tests/data/config_json") + "/" + name + ".json";
}

std::string example_config_path(const std::string& name) {
  return testing::source_path("experiments") + "/" + name;
}

void expect_golden_json(const nlohmann::json& written, const std::string& name) {
  if (std::getenv("FROSTNAS_WRITE_CONFIG_JSON") != nullptr) {
    save_json_file(written, golden_config_path(name));
    return;
  }
  const nlohmann::json expected = load_json_file(golden_config_path(name));
  EXPECT_EQ(written, expected) << name << ": to_json() differs from " << golden_config_path(name)
                               << "\nwritten:\n"
                               << written.dump(2);
  EXPECT_EQ(written.dump(), expected.dump()) << name << ": same values, different number types";
}

TEST(ConfigJsonGolden, OptionalFieldsAreStoredOnlyWhenSet) {
  // The image-folder example: a folder data set, decoded to the space's input.
  const SearchConfig folder = load_search_config(example_config_path("folder_quickstart.json"));
  EXPECT_EQ(folder.data.name, "folder:/tmp/fmnist_png");
  EXPECT_FALSE(folder.to_json().at("data").contains("skip_bad_images"));
  EXPECT_FALSE(folder.to_json().contains("batch"));
  // Set, they are stored and read back.
  nlohmann::json j = load_json_file(example_config_path("folder_quickstart.json"));
  j["data"]["skip_bad_images"] = true;
  j["batch"] = 4;
  const SearchConfig set = search_config_from_json(j, "set", example_config_path(""));
  EXPECT_TRUE(set.data.images.skip_bad_images());
  EXPECT_EQ(set.batch, 4);
  EXPECT_EQ(set.to_json().at("data").at("skip_bad_images"), true);
  EXPECT_EQ(search_config_from_json(set.to_json(), "stored", ".").to_json(), set.to_json());
}

TEST(ConfigJsonGolden, WeightQuantReachesEveryConfigThroughItsTrainSection) {
  const SearchConfig quickstart = load_search_config(example_config_path("quickstart.json"));
  EXPECT_EQ(quickstart.train.weight_quant, WeightQuant::kPerChannel);
  EXPECT_FALSE(quickstart.to_json().at("train").contains("weight_quant"));
  nlohmann::json j = load_json_file(example_config_path("quickstart.json"));
  j["train"]["weight_quant"] = "per_tensor";
  const SearchConfig pt = search_config_from_json(j, "pt.json", example_config_path(""));
  EXPECT_EQ(pt.train.weight_quant, WeightQuant::kPerTensor);
  EXPECT_EQ(pt.to_json().at("train").at("weight_quant"), "per_tensor");
  EXPECT_EQ(search_config_from_json(pt.to_json(), "stored", ".").to_json(), pt.to_json());
  j["train"]["weight_quant"] = "int4";
  try {
    search_config_from_json(j, "bad.json", example_config_path(""));
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "bad.json: $.train.weight_quant: \"int4\" is not allowed (allowed: per_channel, "
              "per_tensor)");
  }

  // The cell search has no train section: the field sits next to its engine.
  nlohmann::json cell = load_json_file(example_config_path("cell_search.json"));
  EXPECT_FALSE(cell_search_config_from_json(cell, "cell").to_json().contains("weight_quant"));
  cell["weight_quant"] = "per_tensor";
  const CellSearchConfig cpt = cell_search_config_from_json(cell, "cell");
  EXPECT_EQ(cpt.weight_quant, WeightQuant::kPerTensor);
  EXPECT_EQ(cell_search_config_from_json(cpt.to_json(), "stored").weight_quant,
            WeightQuant::kPerTensor);

  // The pipeline's retraining section.
  nlohmann::json p = load_json_file(example_config_path("frostnet_repro.json"));
  p["retrain"]["train"]["weight_quant"] = "per_tensor";
  const PipelineConfig ppt = pipeline_config_from_json(p, "p.json", example_config_path(""), false);
  EXPECT_EQ(ppt.retrain.train.weight_quant, WeightQuant::kPerTensor);
  EXPECT_EQ(
      pipeline_config_from_json(ppt.to_json(), "stored", ".", false).retrain.train.weight_quant,
      WeightQuant::kPerTensor);
}

TEST(ConfigJsonGolden, SearchConfigsWriteTheStoredJson) {
  const SearchConfig quickstart = load_search_config(example_config_path("quickstart.json"));
  expect_golden_json(quickstart.to_json(), "search_quickstart");
  const SearchConfig back = search_config_from_json(quickstart.to_json(), "stored", ".");
  EXPECT_EQ(back.to_json(), quickstart.to_json());

  nlohmann::json j = load_json_file(example_config_path("quickstart.json"));
  j["strategy"] = {{"name", "evolution"}, {"options", {{"population", 8}, {"mutations", 2}}}};
  j["metric"] = "fp32";
  j["failure_reward"] = -0.5;
  j["latency"] = {{"source", "macs"},
                  {"precision", "fp32"},
                  {"target_ms", 3.5},
                  {"constraint", "hard"},
                  {"threads", 2}};
  const SearchConfig custom = search_config_from_json(j, "custom", example_config_path(""));
  expect_golden_json(custom.to_json(), "search_custom");
  EXPECT_EQ(search_config_from_json(custom.to_json(), "stored", ".").to_json(), custom.to_json());
}

TEST(ConfigJsonGolden, CellSearchConfigsWriteTheStoredJson) {
  const CellSearchConfig shipped = load_cell_search_config(example_config_path("cell_search.json"));
  expect_golden_json(shipped.to_json(), "cell_search_shipped");
  EXPECT_EQ(cell_search_config_from_json(shipped.to_json(), "stored").to_json(), shipped.to_json());

  const CellSearchConfig defaults = cell_search_config_from_json(
      {{"format", kCellSearchConfigFormat}, {"precision", "fp32"}}, "defaults");
  expect_golden_json(defaults.to_json(), "cell_search_defaults_fp32");
  EXPECT_EQ(cell_search_config_from_json(defaults.to_json(), "stored").to_json(),
            defaults.to_json());
}

TEST(ConfigJsonGolden, PipelineConfigsWriteTheStoredJson) {
  for (const bool quick : {false, true}) {
    const PipelineConfig c =
        load_pipeline_config(example_config_path("frostnet_repro.json"), quick);
    expect_golden_json(c.to_json(), quick ? "pipeline_repro_quick" : "pipeline_repro");
    EXPECT_EQ(pipeline_config_from_json(c.to_json(), "stored", ".", false).to_json(), c.to_json());
  }
}

TEST(ConfigJsonGolden, TrainConfigWritesTheStoredJson) {
  expect_golden_json(to_json(TrainConfig{}), "train_defaults");
}

}  // namespace
}  // namespace frostnas
