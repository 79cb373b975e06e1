// One split rule for every command: `train`, `search`, `pipeline` and `cell-search` given the
// same data spec and seed train and validate on the same images (digests of the index lists).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "experiments/pipeline/pipeline.h"
#include "search/cell/cell_search.h"
#include "search/driver/search_config.h"
#include "tests/common/cli_runner.h"
#include "tests/search/cell/cell_test_util.h"

namespace frostnas {
namespace {

namespace fs = std::filesystem;
using testing::run_frostnas;
using testing::source_path;

constexpr int64_t kSeed = 5;
const nlohmann::json kData = {{"name", "synthetic"}, {"train_subset", 300}, {"val_size", 200}};

struct Digests {
  std::string train;
  std::string val;
  bool operator==(const Digests& o) const { return train == o.train && val == o.val; }
};

Digests digests(const DataSplits& s) { return {s.train_digest, s.val_digest}; }

nlohmann::json search_json() {
  return {{"format", "frostnas.search/1"},
          {"space", "spaces/proxy.json"},
          {"strategy", {{"name", "random"}}},
          {"samples", 1},
          {"seed", kSeed},
          {"data", kData}};
}

Digests train_command_digests(uint64_t seed) {
  const fs::path out =
      fs::temp_directory_path() /
      ("frostnas_data_split_" + std::to_string(::getpid()) + "_" + std::to_string(seed));
  fs::remove_all(out);
  const auto r = run_frostnas(
      "train --arch " + source_path("experiments/archs/proxy_default.json") +
      " --data synthetic --train-subset 300 --val-size 200 --seed " + std::to_string(seed) +
      " --epochs 1 --qat none --batch-size 100 --no-test --threads 1 --quiet --out " +
      out.string());
  EXPECT_EQ(r.status, 0) << r.err;
  nlohmann::json metrics;
  std::ifstream(out / "metrics.json") >> metrics;
  fs::remove_all(out);
  return {metrics.value("train_digest", ""), metrics.value("val_digest", "")};
}

TEST(DataSplit, TrainSearchPipelineAndCellSearchSeeTheSameImages) {
  const std::string experiments = source_path("experiments");
  const SearchConfig search = search_config_from_json(search_json(), "search.json", experiments);
  const Digests expected = digests(search_data(search));
  ASSERT_EQ(expected.train.size(), 16u);
  ASSERT_NE(expected.train, expected.val);

  EXPECT_EQ(train_command_digests(kSeed), expected);

  nlohmann::json pipeline = {{"format", "frostnas.pipeline/1"},
                             {"seed", kSeed},
                             {"search", search_json()},
                             {"cell_search", nullptr},
                             {"retrain", {{"data", kData}}}};
  const PipelineConfig p = pipeline_config_from_json(pipeline, "p.json", experiments, false);
  EXPECT_EQ(digests(search_data(p.search)), expected);
  EXPECT_EQ(digests(retrain_data(p)), expected);

  nlohmann::json cell = testing::tiny_cell_search_json();
  cell["seed"] = kSeed;
  cell["data"] = kData;
  EXPECT_EQ(digests(cell_search_data(cell_search_config_from_json(cell, "cell.json"))), expected);
}

TEST(DataSplit, AnotherSeedOrSizeGivesOtherImages) {
  const std::string experiments = source_path("experiments");
  SearchConfig search = search_config_from_json(search_json(), "search.json", experiments);
  const Digests base = digests(search_data(search));
  EXPECT_FALSE(train_command_digests(kSeed + 1) == base);
  search.data.train_subset = 299;
  const Digests smaller = digests(search_data(search));
  EXPECT_NE(smaller.train, base.train);
  EXPECT_EQ(smaller.val, base.val);  // validation images do not depend on train_subset
}

}  // namespace
}  // namespace frostnas
