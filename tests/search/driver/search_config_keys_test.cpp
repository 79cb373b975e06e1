#include <gtest/gtest.h>

#include "search/driver/search_config.h"
#include "tests/common/cli_runner.h"
#include "tests/common/input_error.h"

namespace frostnas {
namespace {

nlohmann::json search_json_with_typos_base() {
  return {{"format", "frostnas.search/1"},
          {"space", testing::source_path("experiments") + "/spaces/proxy.json"},
          {"samples", 3},
          {"strategy", {{"name", "rl"}}}};
}

std::string search_json_error(const nlohmann::json& j) {
  return testing::input_error([&] { search_config_from_json(j, "cfg.json", "."); });
}

TEST(SearchConfig, RefusesTypoedKeysDeepInsideNamingTheirPath) {
  nlohmann::json j = search_json_with_typos_base();
  j["latency"] = {{"targt_ms", 1.0}};
  EXPECT_EQ(search_json_error(j),
            "cfg.json: $.latency.targt_ms: unknown field (allowed fields: source, precision, "
            "target_ms, constraint, engine, threads)");

  j = search_json_with_typos_base();
  j["strategy"]["options"] = {{"hiden", 32}};
  EXPECT_EQ(search_json_error(j),
            "cfg.json: $.strategy.options.hiden: unknown field (allowed fields: hidden, lr, "
            "entropy_weight, baseline_decay, tanh_c, temperature)");

  j = search_json_with_typos_base();
  j["strategy"] = {{"name", "evolution"}, {"options", {{"population", 4}, {"sample_size", 5}}}};
  EXPECT_EQ(search_json_error(j),
            "cfg.json: $.strategy.options.sample_size: 5 is out of range (allowed: 1..4)");

  j = search_json_with_typos_base();
  j["train"] = {{"transform", {{"crop", 2}}}};
  EXPECT_EQ(search_json_error(j).rfind("cfg.json: $.train.transform.crop: unknown field", 0), 0u)
      << search_json_error(j);

  j = search_json_with_typos_base();
  j["latency"] = {{"source", "table"}};
  EXPECT_EQ(search_json_error(j), "cfg.json: $.latency.target_ms: missing required field");
}

}  // namespace
}  // namespace frostnas
