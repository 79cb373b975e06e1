#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_reader.h"
#include "space/builtin_archs.h"
#include "space/net_spec.h"
#include "tests/common/temp_dir.h"

using namespace frostnas;
using frostnas::testing::TempDir;

namespace {

nlohmann::json small_arch() { return to_json(builtin_arch("frostnet-small-1.0")); }

// The message of the InputError that parsing `j` throws, "" if none.
std::string net_parse_error(const nlohmann::json& j) {
  try {
    net_spec_from_json(j, "arch.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const nlohmann::json& j, const std::string& path, const std::string& allowed) {
  const std::string msg = net_parse_error(j);
  ASSERT_FALSE(msg.empty()) << "accepted: " << j.dump();
  EXPECT_EQ(msg.rfind("arch.json: " + path + ":", 0), 0u) << msg;
  EXPECT_NE(msg.find(allowed), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

}  // namespace

TEST(NetSpecJson, EveryBuiltinRoundTrips) {
  for (const auto& name : builtin_arch_names()) {
    const NetSpec net = builtin_arch(name);
    const nlohmann::json j = to_json(net);
    EXPECT_EQ(j.at("format"), "frostnas.arch/1");
    const NetSpec back = net_spec_from_json(nlohmann::json::parse(j.dump()), name);
    EXPECT_EQ(back, net) << name;
    EXPECT_EQ(arch_hash(back), arch_hash(net));
  }
}

TEST(NetSpecJson, FileRoundTripAndLoadArch) {
  TempDir dir;
  NetSpec net = builtin_arch("frostnet-base-0.5");
  net.name = "mine";
  net.stages[1].blocks[0].type = BlockType::kMBConv;
  save_net_spec(net, dir.file("a.json"));
  EXPECT_EQ(load_net_spec(dir.file("a.json")), net);
  EXPECT_EQ(load_arch(dir.file("a.json")), net);
  EXPECT_EQ(load_arch("frostnet-base-0.5"), builtin_arch("frostnet-base-0.5"));
}

TEST(NetSpecJson, HashIgnoresTheNameOnly) {
  NetSpec a = builtin_arch("frostnet-small-1.0");
  NetSpec b = a;
  b.name = "other";
  EXPECT_EQ(arch_hash(a), arch_hash(b));
  b.stages[2].blocks[1].kernel = 3;
  EXPECT_NE(arch_hash(a), arch_hash(b));
  EXPECT_EQ(arch_hash(a).size(), 16u);
}

TEST(NetSpecValidation, RejectsBadJsonSyntaxWithLineAndColumn) {
  TempDir dir;
  const std::string path =
      dir.write("bad.json", "{\n  \"format\": \"frostnas.arch/1\",\n  oops\n}\n");
  try {
    load_net_spec(path);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": not valid JSON at line 3, column 3");
  }
}

TEST(NetSpecValidation, RejectsMissingFile) {
  EXPECT_THROW(load_net_spec("/nonexistent/arch.json"), InputError);
  try {
    load_arch("/nonexistent/arch.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("frostnet-small-1.0"), std::string::npos);
  }
}

TEST(NetSpecValidation, RejectsUnknownField) {
  auto j = small_arch();
  j["stages"][0]["blocks"][1]["kernal"] = 3;
  expect_error(j, "$.stages[0].blocks[1].kernal", "unknown field (allowed fields: type, kernel,");
}

TEST(NetSpecValidation, RejectsKernelFour) {
  auto j = small_arch();
  j["stages"][2]["blocks"][0]["kernel"] = 4;
  expect_error(j, "$.stages[2].blocks[0].kernel", "4 is not allowed (allowed: 3, 5, 7)");
}

TEST(NetSpecValidation, RejectsExpansionZero) {
  auto j = small_arch();
  j["stages"][1]["blocks"][0]["expansion"] = 0;
  expect_error(j, "$.stages[1].blocks[0].expansion", "0 is out of range (allowed: 1..8)");
}

TEST(NetSpecValidation, RejectsStrideThree) {
  auto j = small_arch();
  j["stages"][0]["blocks"][1]["stride"] = 3;
  expect_error(j, "$.stages[0].blocks[1].stride", "3 is not allowed (allowed: 1, 2)");
}

TEST(NetSpecValidation, RejectsChannelsThatDoNotFitThePreviousStage) {
  auto j = small_arch();
  j["stages"][2]["blocks"][0]["out_channels"] = 32;  // after 40 channels
  expect_error(j, "$.stages[2].blocks[0].out_channels", "does not fit the previous stage");
  expect_error(j, "$.stages[2].blocks[0].out_channels", "(allowed: at least 40)");
}

TEST(NetSpecValidation, RejectsEmptyStage) {
  auto j = small_arch();
  j["stages"][1]["blocks"] = nlohmann::json::array();
  expect_error(j, "$.stages[1].blocks", "must not be empty");
  j["stages"] = nlohmann::json::array();
  expect_error(j, "$.stages", "must not be empty");
}

TEST(NetSpecValidation, RejectsWidthOutsideZeroToFour) {
  for (double w : {0.0, -1.0, 4.5}) {
    auto j = small_arch();
    j["width_mult"] = w;
    expect_error(j, "$.width_mult", "(allowed: (0, 4])");
  }
  auto j = small_arch();
  j["width_mult"] = 4.0;
  EXPECT_EQ(net_parse_error(j), "");
}

TEST(NetSpecValidation, RejectsWrongFormatTypeAndMissingFields) {
  auto j = small_arch();
  j["format"] = "frostnas.space/1";
  expect_error(j, "$.format", "(allowed: frostnas.arch/1)");
  j = small_arch();
  j.erase("num_classes");
  expect_error(j, "$.num_classes", "missing required field");
  j = small_arch();
  j["stages"][0]["blocks"][0]["kernel"] = "3";
  expect_error(j, "$.stages[0].blocks[0].kernel", "expected an integer, got a string");
  j = small_arch();
  j["stages"][0]["blocks"][0]["type"] = "resnet";
  expect_error(j, "$.stages[0].blocks[0].type", "(allowed: frost, mbconv, cell)");
  expect_error(nlohmann::json::array(), "$", "expected an object");
}

TEST(NetSpecValidation, RejectsStrideTwoOnAOneByOneMap) {
  auto j = small_arch();
  j["input_size"] = 16;  // stem 8, then 4, 2, 1: the stride-2 block of stage 3 sees 1x1
  expect_error(j, "$.stages[3].blocks[0].stride", "would shrink a 1x1 feature map");
}
