#include <gtest/gtest.h>

#include "search/cell/cell_search.h"
#include "tests/common/input_error.h"
#include "tests/search/cell/cell_test_util.h"

namespace frostnas {
namespace {

std::string cell_config_error(const nlohmann::json& j) {
  return testing::input_error([&] { cell_search_config_from_json(j, "cfg.json"); });
}

TEST(CellSearchConfig, RefusesTypoedKeysDeepInsideNamingTheirPath) {
  nlohmann::json j = testing::tiny_cell_search_json();
  j["weight_optimizer"] = {{"lrr", 0.1}};
  EXPECT_EQ(cell_config_error(j),
            "cfg.json: $.weight_optimizer.lrr: unknown field (allowed fields: name, lr, min_lr, "
            "momentum, nesterov, weight_decay, other_weight_decay_scale, grad_clip, "
            "fp_warmup_epochs, boost_beta, clip_by, toss_coin, noise_decay)");

  j = testing::tiny_cell_search_json();
  j["stages"][1]["skip_dropuot"] = 0.1;
  EXPECT_EQ(cell_config_error(j),
            "cfg.json: $.stages[1].skip_dropuot: unknown field (allowed fields: depth, epochs, "
            "warmup_epochs, ops, skip_dropout)");

  j = testing::tiny_cell_search_json();
  j["supernet"] = {{"kernal", 3}};
  EXPECT_EQ(cell_config_error(j).rfind("cfg.json: $.supernet.kernal: unknown field", 0), 0u)
      << cell_config_error(j);

  j = testing::tiny_cell_search_json();
  j["weight_optimizer"] = {{"lr", 0.01}, {"min_lr", 0.1}};
  EXPECT_EQ(cell_config_error(j), "cfg.json: $.weight_optimizer.min_lr: must not exceed lr");
}

TEST(CellSearchConfig, WritesPrecisionOnlyWhenNotQat) {
  CellSearchConfig c = cell_search_config_from_json(testing::tiny_cell_search_json(), "cfg.json");
  EXPECT_FALSE(c.to_json().contains("precision"));
  c.precision = SearchPrecision::kFp32;
  EXPECT_EQ(c.to_json().at("precision"), "fp32");
  EXPECT_EQ(cell_search_config_from_json(c.to_json(), "stored").precision, SearchPrecision::kFp32);
}

}  // namespace
}  // namespace frostnas
