#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "tests/common/cli_runner.h"
#include "tests/trainer/data/image_files.h"

using frostnas::testing::CliResult;
using frostnas::testing::expect_input_error;
using frostnas::testing::run_frostnas;

namespace {

namespace fs = std::filesystem;

/// root/train/{dark,light} (12 images each) and root/test/ (4 each): noisy PNG and
/// JPEG images of odd sizes, gray and RGB; the classes differ in brightness.
void make_folder(const std::string& root) {
  std::mt19937 rng(3);
  for (const std::string split : {"train", "test"}) {
    for (int cls = 0; cls < 2; ++cls) {
      for (int i = 0; i < (split == "train" ? 12 : 4); ++i) {
        const int w = 19 + i % 5, h = 17 + i % 3, c = i % 2 ? 3 : 1;
        const auto px = frostnas::test::make_pixels(w, h, c, [&](int, int, int) {
          return static_cast<uint8_t>((cls ? 170 : 60) + static_cast<int>(rng() % 60) - 30);
        });
        const std::string base =
            root + "/" + split + (cls ? "/light/" : "/dark/") + std::to_string(i);
        if (i % 3 == 0)
          frostnas::test::write_jpeg(base + ".jpg", w, h, c, px);
        else
          frostnas::test::write_png(base + ".png", w, h, c, px);
      }
    }
  }
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

TEST(ImageFolderCli, TrainAndEvalOnAFolderDataSet) {
  const fs::path dir =
      fs::temp_directory_path() / ("frostnas_folder_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  make_folder((dir / "pets").string());
  ::setenv("FROSTNAS_CACHE_DIR", (dir / "cache").c_str(), 1);
  const std::string data = "folder:" + (dir / "pets").string();
  const std::string arch = frostnas::testing::source_path("experiments/archs/proxy_default.json");
  const std::string common = " --arch " + arch + " --data " + data +
                             " --epochs 1 --batch-size 8 --val-size 4 --input-size 16"
                             " --threads 2 --qat plain --quiet --flip --crop-scale 0.5";
  const CliResult train = run_frostnas("train" + common + " --out " + (dir / "run").string());
  ASSERT_EQ(train.status, 0) << train.err;
  const nlohmann::json input = read_json(dir / "run" / "input.json");
  EXPECT_EQ(input.at("class_names"), nlohmann::json({"dark", "light"}));
  EXPECT_EQ(read_json(dir / "run" / "int8" / "input.json"), input);
  const double trained_test_acc = read_json(dir / "run" / "metrics.json").at("test").at("int8_acc");

  const CliResult eval = run_frostnas("eval --model " + (dir / "run").string() + " --data " + data +
                                      " --runs 3 --threads 2 --json");
  ASSERT_EQ(eval.status, 0) << eval.err;
  const nlohmann::json e = nlohmann::json::parse(eval.out);
  EXPECT_EQ(e.at("samples"), 8);
  EXPECT_DOUBLE_EQ(e.at("int8_acc").get<double>(), trained_test_acc);
  // The second run read the decoded cache instead of decoding.
  EXPECT_NE(eval.err.find("from the decoded cache"), std::string::npos) << eval.err;

  // A truncated image: one line naming it (exit 2), or skipped with a count.
  const fs::path bad = dir / "pets" / "train" / "light" / "0.jpg";
  fs::resize_file(bad, fs::file_size(bad) / 2);
  expect_input_error(run_frostnas("train" + common + " --out " + (dir / "run2").string()),
                     bad.string() + ": corrupt");
  const CliResult skipped =
      run_frostnas("train" + common + " --skip-bad-images --out " + (dir / "run3").string());
  EXPECT_EQ(skipped.status, 0) << skipped.err;
  EXPECT_NE(skipped.err.find("skipped 1 bad images (first: " + bad.string()), std::string::npos)
      << skipped.err;
  fs::remove_all(dir);
}

}  // namespace
