#include <gtest/gtest.h>

#include "search/cell/cell_search.h"
#include "tests/search/cell/cell_test_util.h"

namespace frostnas {
namespace {

using testing::tiny_cell_search_json;

/// The InputError message of parsing `j` ("" when it parses).
std::string error_of(const nlohmann::json& j) {
  try {
    cell_search_config_from_json(j, "cfg.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const nlohmann::json& j, const std::string& a, const std::string& b) {
  const std::string m = error_of(j);
  EXPECT_EQ(m.rfind("cfg.json: ", 0), 0u) << m;
  EXPECT_NE(m.find(a), std::string::npos) << m;
  EXPECT_NE(m.find(b), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST(CellSearchConfig, ParsesAndRoundTrips) {
  const CellSearchConfig c = cell_search_config_from_json(tiny_cell_search_json(), "cfg.json");
  EXPECT_EQ(c.name, "tiny");
  EXPECT_EQ(c.seed, 3u);
  EXPECT_EQ(c.data.name, "synthetic");
  EXPECT_EQ(c.nodes, 2);
  EXPECT_EQ(c.ops, cell_op_names());
  ASSERT_EQ(c.stages.size(), 3u);
  EXPECT_EQ(c.stages[1].ops, 4);
  EXPECT_DOUBLE_EQ(c.stages[2].skip_dropout, 0.5);
  EXPECT_EQ(c.supernet.channels(), std::vector<int64_t>{8});
  // Defaults: GradBoost QSGD with the P-DARTS constants, Adam 6e-4 (0.5, 0.999) 1e-3.
  EXPECT_EQ(c.weight_optimizer.optimizer.name, "qsgd");
  EXPECT_DOUBLE_EQ(c.weight_optimizer.optimizer.lr, 0.025);
  EXPECT_DOUBLE_EQ(c.weight_optimizer.grad_clip, 5.0);
  EXPECT_DOUBLE_EQ(c.weight_optimizer.fp_warmup_epochs, 0.5);
  EXPECT_DOUBLE_EQ(c.arch_optimizer.lr, 6e-4);
  EXPECT_DOUBLE_EQ(c.arch_optimizer.beta1, 0.5);
  EXPECT_DOUBLE_EQ(c.arch_optimizer.weight_decay, 1e-3);
  EXPECT_EQ(c.max_skip, 1);
  const CellSearchConfig back = cell_search_config_from_json(c.to_json(), "stored");
  EXPECT_EQ(back.to_json(), c.to_json());
}

TEST(CellSearchConfig, PrecisionIsQatUnlessSetAndRoundTrips) {
  EXPECT_EQ(cell_search_config_from_json(tiny_cell_search_json(), "cfg.json").precision,
            SearchPrecision::kQat);
  auto j = tiny_cell_search_json();
  j["precision"] = "fp32";
  const CellSearchConfig c = cell_search_config_from_json(j, "cfg.json");
  EXPECT_EQ(c.precision, SearchPrecision::kFp32);
  EXPECT_EQ(cell_search_config_from_json(c.to_json(), "stored").precision, SearchPrecision::kFp32);
  j["precision"] = "int8";
  try {
    cell_search_config_from_json(j, "cfg.json");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.json: $.precision"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qat, fp32"), std::string::npos) << e.what();
  }
}

TEST(CellSearchConfig, DefaultExperimentFileLoads) {
  const CellSearchConfig c =
      load_cell_search_config(std::string(FROSTNAS_SOURCE_DIR) + "/experiments/cell_search.json");
  EXPECT_EQ(c.data.name, "fashion-mnist");
  ASSERT_EQ(c.stages.size(), 3u);
  EXPECT_EQ(c.stages[0].ops, 8);
  EXPECT_EQ(c.stages[1].ops, 5);
  EXPECT_EQ(c.stages[2].ops, 3);
  EXPECT_LT(c.stages[0].depth, c.stages[2].depth);
  EXPECT_EQ(c.max_skip, 2);
}

TEST(CellSearchConfig, ErrorsNameFieldAndAllowedValues) {
  auto j = tiny_cell_search_json();
  j["format"] = "frostnas.search/1";
  expect_error(j, "$.format", "frostnas.cell_search/1");

  j = tiny_cell_search_json();
  j.erase("format");
  expect_error(j, "$.format", "missing required field");

  j = tiny_cell_search_json();
  j["epochs"] = 3;
  expect_error(j, "$.epochs", "unknown field");

  j = tiny_cell_search_json();
  j["cell"]["ops"] = {"skip", "conv_3x3"};
  expect_error(j, "$.cell.ops", "allowed: none, skip, conv_1x1");

  j = tiny_cell_search_json();
  j["cell"]["ops"] = {"skip", "skip"};
  expect_error(j, "$.cell.ops", "listed twice");

  j = tiny_cell_search_json();
  j["cell"]["join"] = "mul";
  expect_error(j, "$.cell.join", "allowed: concat, sum");

  j = tiny_cell_search_json();
  j["stages"][0]["ops"] = 5;
  expect_error(j, "$.stages[0].ops", "allowed: 8");

  j = tiny_cell_search_json();
  j["stages"][2]["ops"] = 5;
  expect_error(j, "$.stages[2].ops", "allowed: 1..4");

  j = tiny_cell_search_json();
  j["stages"][0]["warmup_epochs"] = 3;
  expect_error(j, "$.stages[0].warmup_epochs", "allowed: 0..2");

  j = tiny_cell_search_json();
  j["supernet"]["channels"] = {8, 16};
  j["stages"][0]["depth"] = 1;
  expect_error(j, "$.stages[0].depth", "allowed: 2..64");

  j = tiny_cell_search_json();
  j["stages"][1]["skip_dropout"] = 1.0;
  expect_error(j, "$.stages[1].skip_dropout", "out of range");

  j = tiny_cell_search_json();
  j["weight_optimizer"]["name"] = "lion";
  expect_error(j, "$.weight_optimizer.name", "qsgd");

  j = tiny_cell_search_json();
  j["arch_optimizer"]["lr"] = 0;
  expect_error(j, "$.arch_optimizer.lr", "out of range");

  j = tiny_cell_search_json();
  j["data"]["name"] = "imagenet";
  expect_error(j, "$.data.name", "fashion-mnist");

  j = tiny_cell_search_json();
  j["supernet"]["kernel"] = 4;
  expect_error(j, "$.supernet.kernel", "allowed: 1, 3, 5, 7");

  j = tiny_cell_search_json();
  j["engine"] = "fbgemm";
  expect_error(j, "engine", "onednn");

  j = tiny_cell_search_json();
  j["stages"] = nlohmann::json::array();
  expect_error(j, "$.stages", "must not be empty");
}

}  // namespace
}  // namespace frostnas
