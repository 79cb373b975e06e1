#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace {

struct Result {
  int status = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

// Runs the frostnas binary with `args` (shell words), capturing both streams.
Result frostnas(const std::string& args) {
  const std::string err_file =
      std::filesystem::temp_directory_path() / ("frostnas_cli_err_" + std::to_string(::getpid()));
  const std::string cmd = std::string(FROSTNAS_BINARY) + " " + args + " 2>" + err_file;
  Result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(err_file);
  return r;
}

std::string src(const std::string& rel) { return std::string(FROSTNAS_SOURCE_DIR) + "/" + rel; }

void expect_input_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("frostnas: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

}  // namespace

TEST(Cli, HelpListsCommandsAndOptionsWithDefaults) {
  const Result top = frostnas("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* c : {"arch list", "arch show", "arch sample", "space show"}) {
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
  }
  const Result sample = frostnas("arch sample --help");
  EXPECT_EQ(sample.status, 0);
  EXPECT_NE(sample.out.find("--seed arg (=0)"), std::string::npos) << sample.out;
}

TEST(Cli, ArchListNamesTheBuiltins) {
  const Result r = frostnas("arch list");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("frostnet-small-1.0"), std::string::npos);
  EXPECT_NE(r.out.find("4,858,776"), std::string::npos);
}

TEST(Cli, ArchShowJson) {
  const Result r = frostnas("arch show frostnet-large-1.0 --json");
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
  const Result r =
      frostnas("arch show frostnet-small-1.0 --input-size 28 --in-channels 1 --classes 10 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("input_size"), 28);
  EXPECT_EQ(j.at("stem").at("in"), nlohmann::json({1, 28, 28}));
  EXPECT_EQ(j.at("classifier").at("out").at(0), 10);
  const Result table = frostnas("arch show frostnet-small-1.0");
  EXPECT_NE(table.out.find("total: 4,858,776 parameters"), std::string::npos) << table.out;
}

TEST(Cli, SampleWritesAnArchitectureThatShowAccepts) {
  const std::string out = std::filesystem::temp_directory_path() /
                          ("frostnas_cli_arch_" + std::to_string(::getpid()) + ".json");
  const Result s =
      frostnas("arch sample " + src("experiments/spaces/proxy.json") + " --seed 5 --out " + out);
  ASSERT_EQ(s.status, 0) << s.err;
  const Result show = frostnas("arch show " + out + " --json");
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_EQ(nlohmann::json::parse(show.out).at("input_size"), 28);
  const Result again =
      frostnas("arch sample " + src("experiments/spaces/proxy.json") + " --seed 5");
  EXPECT_EQ(nlohmann::json::parse(again.out), nlohmann::json::parse(std::ifstream(out)));
  std::filesystem::remove(out);
}

TEST(Cli, SpaceShow) {
  const Result r = frostnas("space show " + src("experiments/spaces/frostnet.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("frostnet-small-1.0, frostnet-base-1.0, frostnet-large-1.0"),
            std::string::npos)
      << r.out;
  const Result j = frostnas("space show " + src("experiments/spaces/proxy.json") + " --json");
  ASSERT_EQ(j.status, 0);
  EXPECT_EQ(nlohmann::json::parse(j.out).at("slots"), 11);
}

TEST(Cli, BadInputIsOneLineAndExitTwo) {
  expect_input_error(frostnas("frobnicate"), "unknown command \"frobnicate\" (allowed: arch list");
  expect_input_error(frostnas("arch"), "missing subcommand (allowed: list, show, sample)");
  expect_input_error(frostnas("arch show frostnet-huge-1.0"),
                     "(allowed: a frostnas.arch/1 JSON file or one of");
  expect_input_error(frostnas("arch show frostnet-small-1.0 --input-size 4"),
                     "--input-size: 4 is out of range (allowed: 8..1024)");
  expect_input_error(frostnas("arch show frostnet-small-1.0 --bogus"),
                     "unrecognised option '--bogus'");
  expect_input_error(frostnas("arch show"), "missing ARCH");
  expect_input_error(frostnas("space show /nonexistent.json"),
                     "/nonexistent.json: cannot open file");
  expect_input_error(frostnas("arch sample " + src("experiments/spaces/proxy.json") + " --seed -1"),
                     "--seed: -1 is out of range (allowed: >= 0)");
  expect_input_error(frostnas("space show " + src("experiments/spaces/proxy.json") + " extra"),
                     "too many positional options");
}
