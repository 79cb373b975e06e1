#include <gtest/gtest.h>

#include "common/config_fields.h"
#include "tests/common/input_error.h"

namespace frostnas {

// Test configurations: a nested part, an enum with a names function, and every kind of field.
enum class ToyColor { kRed, kGreen };

const std::vector<std::string>& toy_color_names() {
  static const std::vector<std::string> names{"red", "green"};
  return names;
}

struct ToyInner {
  double rate = 0.5;
  std::string mode = "fast";
};

void config_fields(ConfigFields& f, ToyInner& c) {
  f.number("rate", c.rate, NumberRange::open_closed(0.0, 1.0));
  f.choice("mode", c.mode, {"fast", "slow"});
}

struct ToyOuter {
  std::string name = "toy";
  int64_t count = 3;
  int64_t kernel = 3;
  uint64_t seed = 7;
  bool verbose = false;
  double ratio = 0.25;
  ToyColor color = ToyColor::kRed;
  ToyInner inner;
  int64_t at_most_count = 1;
};

void config_fields(ConfigFields& f, ToyOuter& c) {
  f.text("name", c.name);
  f.integer("count", c.count, 1, 10, FieldRule::kRequired);
  f.integer_in("kernel", c.kernel, {1, 3, 5});
  f.integer("seed", c.seed);
  f.flag("verbose", c.verbose);
  f.number("ratio", c.ratio, NumberRange::closed_open(0.0, 1.0));
  f.enumeration("color", c.color, toy_color_names(), FieldRule::kUnlessDefault);
  f.nested("inner", c.inner);
  // The bound depends on a field read before.
  f.integer("at_most_count", c.at_most_count, 0, c.count);
  f.check([&c](const JsonReader& r) {
    if (c.verbose && c.count > 5) r.fail_at("verbose", "needs count <= 5");
  });
}

namespace {

ToyOuter read_toy(const nlohmann::json& j) {
  ToyOuter c;
  read_config(JsonReader(j, "toy.json"), c);
  return c;
}

std::string toy_error(const nlohmann::json& j) {
  return testing::input_error([&] { read_toy(j); });
}

TEST(ConfigFields, DefaultsComeFromTheStructAndOnlyPresentKeysAreRead) {
  const ToyOuter c = read_toy({{"count", 4}, {"inner", {{"mode", "slow"}}}});
  EXPECT_EQ(c.count, 4);
  EXPECT_EQ(c.inner.mode, "slow");
  const ToyOuter defaults;
  EXPECT_EQ(c.name, defaults.name);
  EXPECT_EQ(c.kernel, defaults.kernel);
  EXPECT_EQ(c.seed, defaults.seed);
  EXPECT_EQ(c.ratio, defaults.ratio);
  EXPECT_EQ(c.color, defaults.color);
  EXPECT_EQ(c.inner.rate, defaults.inner.rate);
}

TEST(ConfigFields, WritesEveryFieldAndReadsItBack) {
  ToyOuter c;
  c.count = 9;
  c.seed = 11;
  c.verbose = false;
  c.inner.rate = 1.0;
  const nlohmann::json j = write_config(c);
  EXPECT_EQ(j, (nlohmann::json{{"name", "toy"},
                               {"count", 9},
                               {"kernel", 3},
                               {"seed", 11u},
                               {"verbose", false},
                               {"ratio", 0.25},
                               {"inner", {{"rate", 1.0}, {"mode", "fast"}}},
                               {"at_most_count", 1}}));
  EXPECT_EQ(write_config(read_toy(j)), j);
}

TEST(ConfigFields, WritesAnUnlessDefaultFieldOnlyWhenNotTheDefault) {
  ToyOuter c;
  EXPECT_FALSE(write_config(c).contains("color"));
  c.color = ToyColor::kGreen;
  EXPECT_EQ(write_config(c).at("color"), "green");
  EXPECT_EQ(read_toy(write_config(c)).color, ToyColor::kGreen);
}

TEST(ConfigFields, RefusesAnUnknownKeyAtDepthTwoNamingPathAndAllowedKeys) {
  EXPECT_EQ(toy_error({{"count", 2}, {"inner", {{"rat", 0.1}}}}),
            "toy.json: $.inner.rat: unknown field (allowed fields: rate, mode)");
  EXPECT_EQ(toy_error({{"count", 2}, {"cuont", 2}}),
            "toy.json: $.cuont: unknown field (allowed fields: name, count, kernel, seed, "
            "verbose, ratio, color, inner, at_most_count)");
}

TEST(ConfigFields, RangeErrorsNameTheRangeAndItsOpenEnds) {
  EXPECT_EQ(toy_error({{"count", 11}}), "toy.json: $.count: 11 is out of range (allowed: 1..10)");
  EXPECT_EQ(toy_error({{"count", 2}, {"inner", {{"rate", 0.0}}}}),
            "toy.json: $.inner.rate: 0 is out of range (allowed: (0, 1])");
  EXPECT_EQ(toy_error({{"count", 2}, {"ratio", 1.0}}),
            "toy.json: $.ratio: 1 is out of range (allowed: [0, 1))");
  EXPECT_EQ(toy_error({{"count", 2}, {"seed", -1}}),
            "toy.json: $.seed: -1 is out of range (allowed: >= 0)");
  EXPECT_EQ(toy_error({{"count", 2}, {"kernel", 4}}),
            "toy.json: $.kernel: 4 is not allowed (allowed: 1, 3, 5)");
  EXPECT_EQ(toy_error({{"count", 2}, {"at_most_count", 3}}),
            "toy.json: $.at_most_count: 3 is out of range (allowed: 0..2)");
}

TEST(ConfigFields, ChoiceAndEnumErrorsNameTheAllowedValues) {
  EXPECT_EQ(toy_error({{"count", 2}, {"inner", {{"mode", "medium"}}}}),
            "toy.json: $.inner.mode: \"medium\" is not allowed (allowed: fast, slow)");
  EXPECT_EQ(toy_error({{"count", 2}, {"color", "blue"}}),
            "toy.json: $.color: \"blue\" is not allowed (allowed: red, green)");
}

TEST(ConfigFields, TypeErrorsRequiredFieldsAndChecksNameThePath) {
  EXPECT_EQ(toy_error({{"count", "two"}}), "toy.json: $.count: expected an integer, got a string");
  EXPECT_EQ(toy_error({{"count", 2}, {"verbose", 1}}),
            "toy.json: $.verbose: expected true or false, got an integer");
  EXPECT_EQ(toy_error(nlohmann::json::object()), "toy.json: $.count: missing required field");
  EXPECT_EQ(toy_error({{"count", 2}, {"inner", 3}}),
            "toy.json: $.inner: expected an object, got an integer");
  EXPECT_EQ(toy_error({{"count", 8}, {"verbose", true}}), "toy.json: $.verbose: needs count <= 5");
}

TEST(ConfigFields, ListsTheKeysInDeclarationOrder) {
  ToyInner inner;
  EXPECT_EQ(config_keys(inner), (std::vector<std::string>{"rate", "mode"}));
}

}  // namespace
}  // namespace frostnas
