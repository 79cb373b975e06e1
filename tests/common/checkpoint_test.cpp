#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "tests/common/input_error.h"
#include "tests/common/temp_dir.h"

using namespace frostnas;
using frostnas::testing::TempDir;

using frostnas::testing::input_error;

TEST(Checkpoint, ArchiveRoundTripsStateAndTensors) {
  TempDir dir;
  const std::string path = dir.file("ckpt.pt");
  torch::manual_seed(0);
  torch::nn::Linear layer(3, 2);
  save_archive_checkpoint(path, {{"format", "test/1"}, {"step", 7}},
                          [&](torch::serialize::OutputArchive& a) {
                            torch::serialize::OutputArchive m;
                            layer->save(m);
                            a.write("layer", m);
                            a.write("alphas", torch::arange(4.0));
                          });
  torch::serialize::InputArchive archive;
  const nlohmann::json state = load_archive_checkpoint(path, "test/1", archive);
  EXPECT_EQ(state.at("step"), 7);
  torch::nn::Linear other(3, 2);
  torch::serialize::InputArchive m;
  archive.read("layer", m);
  other->load(m);
  EXPECT_TRUE(torch::equal(other->weight, layer->weight));
  torch::Tensor alphas;
  archive.read("alphas", alphas);
  EXPECT_TRUE(torch::equal(alphas, torch::arange(4.0)));
  // Atomic: nothing but the checkpoint is left in the directory.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(Checkpoint, AnotherFormatIsRefusedNamingTheFile) {
  TempDir dir;
  const std::string path = dir.file("ckpt.pt");
  save_archive_checkpoint(path, {{"format", "other/1"}});
  torch::serialize::InputArchive archive;
  EXPECT_EQ(input_error([&] { load_archive_checkpoint(path, "test/1", archive); }),
            path + ": field 'format': expected 'test/1'");
}

TEST(Checkpoint, MissingAndCorruptFilesAreInputErrors) {
  TempDir dir;
  torch::serialize::InputArchive archive;
  const std::string missing = dir.file("none.pt");
  EXPECT_EQ(input_error([&] { load_archive_checkpoint(missing, "test/1", archive); }),
            missing + ": missing checkpoint");
  const std::string corrupt = dir.write("bad.pt", "not an archive");
  EXPECT_EQ(input_error([&] {
              load_archive_checkpoint(corrupt, "test/1", archive);
            }).rfind(corrupt + ": unreadable checkpoint (", 0),
            0u);
}

TEST(Checkpoint, StateFileChecksJsonAndFormat) {
  TempDir dir;
  const std::string good = dir.write("state.json", R"({"format": "test/1", "epoch": 2})");
  EXPECT_EQ(read_state_file(good, "test/1").at("epoch"), 2);
  EXPECT_EQ(input_error([&] { read_state_file(good, "test/2"); }),
            good + ": field 'format': expected 'test/2'");
  const std::string bad = dir.write("bad.json", "{\"format\": ");
  EXPECT_EQ(input_error([&] { read_state_file(bad, "test/1"); }).rfind(bad + ": invalid JSON (", 0),
            0u);
  const std::string none = dir.file("none.json");
  EXPECT_EQ(input_error([&] { read_state_file(none, "test/1"); }), none + ": cannot open");
}
