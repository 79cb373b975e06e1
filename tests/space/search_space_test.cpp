#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "common/json_reader.h"
#include "common/random.h"
#include "space/builtin_archs.h"
#include "space/search_space.h"
#include "tests/common/temp_dir.h"

using namespace frostnas;
using frostnas::testing::TempDir;

namespace {

std::string space_path(const std::string& name) {
  return std::string(FROSTNAS_SOURCE_DIR) + "/experiments/spaces/" + name + ".json";
}

std::string space_parse_error(const nlohmann::json& j) {
  try {
    search_space_from_json(j, "space.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SearchSpace, ShippedSpacesLoadAndRoundTrip) {
  for (const char* name : {"frostnet", "proxy"}) {
    const SearchSpace space = load_search_space(space_path(name));
    EXPECT_EQ(search_space_from_json(to_json(space), name), space) << name;
  }
}

TEST(SearchSpace, OfficialArchitecturesArePointsOfTheFrostNetSpace) {
  const SearchSpace space = load_search_space(space_path("frostnet"));
  for (const char* name : {"frostnet-small-1.0", "frostnet-base-1.0", "frostnet-large-1.0"}) {
    const NetSpec net = builtin_arch(name);
    const Choices c = encode(space, net);
    const NetSpec back = decode(space, c);
    EXPECT_EQ(back.blocks(), net.blocks()) << name;
    EXPECT_EQ(back.stages.size(), net.stages.size()) << name;
  }
  EXPECT_FALSE(contains(space, builtin_arch("frostnet-small-0.5")));  // other width
}

TEST(SearchSpace, DecisionsAndSize) {
  const SearchSpace space = load_search_space(space_path("proxy"));
  const auto ds = decisions(space);
  // slot 0 is fixed; 10 slots x (kernel, EF, RF) + 6 skippable slots.
  EXPECT_EQ(ds.size(), 10u * 3 + 6);
  EXPECT_EQ(ds.front().name(), "slot1.kernel");
  EXPECT_NEAR(space_log10_size(space), 30 * std::log10(3.0) + 6 * std::log10(2.0), 1e-9);
}

TEST(SearchSpace, SamplingIsDeterministicAndStaysInTheSpace) {
  const SearchSpace space = load_search_space(space_path("proxy"));
  EXPECT_EQ(sample(space, 7), sample(space, 7));
  std::set<std::string> hashes;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const NetSpec net = sample(space, seed);
    validate(net, "sample");
    EXPECT_TRUE(contains(space, net));
    hashes.insert(arch_hash(net));
  }
  EXPECT_GT(hashes.size(), 45u);
}

TEST(SearchSpace, SamplingIsPortable) {
  // Pinned: the sampler uses its own uniform integers, so these do not depend on
  // the standard library's distributions.
  std::mt19937_64 rng(42);
  std::vector<int64_t> first;
  for (int i = 0; i < 6; ++i) first.push_back(uniform_index(rng, 3));
  std::mt19937_64 again(42);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(uniform_index(again, 3), first[i]);
  for (int64_t v : first) EXPECT_TRUE(v >= 0 && v < 3);
}

TEST(SearchSpace, EncodingRoundTrip) {
  const SearchSpace space = load_search_space(space_path("frostnet"));
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100; ++i) {
    const Choices c = sample_choices(space, rng);
    const NetSpec net = decode(space, c);
    const Choices again = encode(space, net);
    EXPECT_EQ(decode(space, again), net);
    // Without skips the encoding is unique.
    Choices no_skip = c;
    const auto ds = decisions(space);
    for (size_t d = 0; d < ds.size(); ++d) {
      if (ds[d].kind == Decision::Kind::kSkip) no_skip[d] = 0;
    }
    EXPECT_EQ(encode(space, decode(space, no_skip)), no_skip);
  }
}

TEST(SearchSpace, DecodeRejectsBadChoiceVectors) {
  const SearchSpace space = load_search_space(space_path("proxy"));
  EXPECT_THROW(decode(space, Choices(3, 0)), InputError);
  Choices c(decisions(space).size(), 0);
  c[0] = 3;
  EXPECT_THROW(decode(space, c), InputError);
}

TEST(SearchSpace, EncodeNamesTheBlockThatFitsNoSlot) {
  const SearchSpace space = load_search_space(space_path("frostnet"));
  NetSpec net = builtin_arch("frostnet-small-1.0");
  net.stages[2].blocks[1].out_channels = 88;
  try {
    encode(space, net);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("block 5 fits no slot"), std::string::npos) << e.what();
  }
}

TEST(SearchSpace, DistinctBlocksAreUniqueAndCoverEverySample) {
  const SearchSpace space = load_search_space(space_path("proxy"));
  const auto blocks = distinct_blocks(space);
  std::set<std::string> keys;
  for (const auto& b : blocks) EXPECT_TRUE(keys.insert(b.block.key()).second);
  for (uint64_t seed = 0; seed < 30; ++seed) {
    for (const auto& b : resolve(sample(space, seed)).blocks) {
      EXPECT_TRUE(keys.count(b.key())) << b.key();
    }
  }
  // Fewer keys than (k, EF, RF) triples: EF = 1 ignores RF, MBConv fallbacks merge.
  EXPECT_LT(blocks.size(), (space.num_slots() - 1) * 27 + 1);
}

TEST(SearchSpaceValidation, RejectsKernelFourInChoices) {
  auto j = to_json(load_search_space(space_path("proxy")));
  j["stages"][1]["slots"][0]["kernels"] = {3, 4};
  const std::string msg = space_parse_error(j);
  EXPECT_EQ(msg,
            "space.json: $.stages[1].slots[0].kernels[1]: 4 is not allowed (allowed: 3, 5, 7)");
}

TEST(SearchSpaceValidation, RejectsExpansionZeroAndBadReduction) {
  auto j = to_json(load_search_space(space_path("proxy")));
  j["stages"][0]["slots"][1]["expansions"] = {0, 3};
  EXPECT_EQ(space_parse_error(j),
            "space.json: $.stages[0].slots[1].expansions[0]: 0 is not allowed (allowed: 1, 3, 6)");
  j = to_json(load_search_space(space_path("proxy")));
  j["stages"][0]["slots"][1]["reductions"] = {3};
  EXPECT_EQ(
      space_parse_error(j),
      "space.json: $.stages[0].slots[1].reductions[0]: 3 is not allowed (allowed: 1, 2, 4, 8)");
}

TEST(SearchSpaceValidation, RejectsStrideThreeAndBadSkips) {
  auto j = to_json(load_search_space(space_path("proxy")));
  j["stages"][1]["slots"][0]["stride"] = 3;
  EXPECT_NE(
      space_parse_error(j).find("$.stages[1].slots[0].stride: 3 is not allowed (allowed: 1, 2)"),
      std::string::npos);
  j = to_json(load_search_space(space_path("proxy")));
  j["stages"][1]["slots"][0]["skippable"] = true;  // stride 2: cannot be skipped
  EXPECT_NE(space_parse_error(j).find("$.stages[1].slots[0].skippable: a skippable slot must keep"),
            std::string::npos);
}

TEST(SearchSpaceValidation, RejectsChannelsEmptyStageWidthAndUnknownField) {
  auto j = to_json(load_search_space(space_path("proxy")));
  j["stages"][2]["slots"][0]["out_channels"] = 24;
  EXPECT_NE(space_parse_error(j).find(
                "$.stages[2].slots[0].out_channels: 24 does not fit the previous stage"),
            std::string::npos);
  j = to_json(load_search_space(space_path("proxy")));
  j["stages"][1]["slots"] = nlohmann::json::array();
  EXPECT_NE(space_parse_error(j).find("$.stages[1].slots: an empty stage"), std::string::npos);
  j = to_json(load_search_space(space_path("proxy")));
  j["width_mult"] = 5;
  EXPECT_NE(space_parse_error(j).find("$.width_mult: 5 is out of range (allowed: (0, 4])"),
            std::string::npos);
  j = to_json(load_search_space(space_path("proxy")));
  j["depth"] = 3;
  EXPECT_NE(space_parse_error(j).find("$.depth: unknown field"), std::string::npos);
}
