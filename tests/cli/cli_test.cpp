#include <gtest/gtest.h>

#include "tests/common/cli_runner.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

using frostnas::testing::CliResult;
using frostnas::testing::expect_input_error;
using frostnas::testing::run_frostnas;

namespace {

std::string src(const std::string& rel) { return frostnas::testing::source_path(rel); }

}  // namespace

TEST(Cli, HelpListsCommandsAndOptionsWithDefaults) {
  const CliResult top = run_frostnas("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* c : {"arch list", "arch show", "arch sample", "space show"}) {
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
  }
  const CliResult sample = run_frostnas("arch sample --help");
  EXPECT_EQ(sample.status, 0);
  EXPECT_NE(sample.out.find("--seed arg (=0)"), std::string::npos) << sample.out;
}

TEST(Cli, ArchListNamesTheBuiltins) {
  const CliResult r = run_frostnas("arch list");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("frostnet-small-1.0"), std::string::npos);
  EXPECT_NE(r.out.find("4,858,776"), std::string::npos);
}

TEST(Cli, ArchShowJson) {
  const CliResult r = run_frostnas("arch show frostnet-large-1.0 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("name"), "frostnet-large-1.0");
  EXPECT_EQ(j.at("params"), 5807056);
  EXPECT_EQ(j.at("input_size"), 224);
  EXPECT_EQ(j.at("num_classes"), 1000);
  EXPECT_EQ(j.at("blocks").size(), 18u);
  EXPECT_GT(j.at("macs").get<int64_t>(), 400000000);
}

TEST(Cli, ArchShowOverridesInputAndClasses) {
  const CliResult r = run_frostnas(
      "arch show frostnet-small-1.0 --input-size 28 --in-channels 1 --classes 10 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("input_size"), 28);
  EXPECT_EQ(j.at("stem").at("in"), nlohmann::json({1, 28, 28}));
  EXPECT_EQ(j.at("classifier").at("out").at(0), 10);
  const CliResult table = run_frostnas("arch show frostnet-small-1.0");
  EXPECT_NE(table.out.find("total: 4,858,776 parameters"), std::string::npos) << table.out;
}

TEST(Cli, SampleWritesAnArchitectureThatShowAccepts) {
  const std::string out = std::filesystem::temp_directory_path() /
                          ("frostnas_cli_arch_" + std::to_string(::getpid()) + ".json");
  const CliResult s = run_frostnas("arch sample " + src("experiments/spaces/proxy.json") +
                                   " --seed 5 --out " + out);
  ASSERT_EQ(s.status, 0) << s.err;
  const CliResult show = run_frostnas("arch show " + out + " --json");
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_EQ(nlohmann::json::parse(show.out).at("input_size"), 28);
  const CliResult again =
      run_frostnas("arch sample " + src("experiments/spaces/proxy.json") + " --seed 5");
  EXPECT_EQ(nlohmann::json::parse(again.out), nlohmann::json::parse(std::ifstream(out)));
  std::filesystem::remove(out);
}

TEST(Cli, SpaceShow) {
  const CliResult r = run_frostnas("space show " + src("experiments/spaces/frostnet.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("frostnet-small-1.0, frostnet-base-1.0, frostnet-large-1.0"),
            std::string::npos)
      << r.out;
  const CliResult j =
      run_frostnas("space show " + src("experiments/spaces/proxy.json") + " --json");
  ASSERT_EQ(j.status, 0);
  EXPECT_EQ(nlohmann::json::parse(j.out).at("slots"), 11);
}

TEST(Cli, BadInputIsOneLineAndExitTwo) {
  expect_input_error(run_frostnas("frobnicate"),
                     "unknown command \"frobnicate\" (allowed: arch list");
  expect_input_error(run_frostnas("arch"), "missing subcommand (allowed: list, show, sample)");
  expect_input_error(run_frostnas("arch show frostnet-huge-1.0"),
                     "(allowed: a frostnas.arch/1 JSON file or one of");
  expect_input_error(run_frostnas("arch show frostnet-small-1.0 --input-size 4"),
                     "--input-size: 4 is out of range (allowed: 8..1024)");
  expect_input_error(run_frostnas("arch show frostnet-small-1.0 --bogus"),
                     "unrecognised option '--bogus'");
  expect_input_error(run_frostnas("arch show"), "missing ARCH");
  expect_input_error(run_frostnas("space show /nonexistent.json"),
                     "/nonexistent.json: cannot open file");
  expect_input_error(
      run_frostnas("arch sample " + src("experiments/spaces/proxy.json") + " --seed -1"),
      "--seed: -1 is out of range (allowed: >= 0)");
  expect_input_error(run_frostnas("space show " + src("experiments/spaces/proxy.json") + " extra"),
                     "too many positional options");
  expect_input_error(run_frostnas("lut time"), "missing --model DIR");
  expect_input_error(run_frostnas("lut time --model /nonexistent"), "/nonexistent/int8");
  expect_input_error(run_frostnas("lut time --arch frostnet-huge-1.0"),
                     "(allowed: a frostnas.arch/1 JSON file or one of");
  expect_input_error(run_frostnas("lut time --arch frostnet-small-0.35 --engine bogus"),
                     "--engine");
  expect_input_error(run_frostnas("lut time --arch frostnet-small-0.35 --threads 0"),
                     "--threads: 0 is out of range (allowed: 1..256)");
}
