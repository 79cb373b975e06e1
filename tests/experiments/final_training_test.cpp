// The saved files of a final model as a worker sends them and rank 0 writes them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "experiments/pipeline/final_training.h"
#include "tests/common/temp_dir.h"

namespace frostnas {
namespace {

namespace fs = std::filesystem;

TEST(FinalTraining, SavedFilesTravelAsTheyAre) {
  testing::TempDir tmp;
  const fs::path from = fs::path(tmp.dir()) / "worker" / "found-1";
  fs::create_directories(from / "int8");
  const std::string binary("\0\x01\xfe\xff", 4);
  std::ofstream(from / "int8" / "weights.bin", std::ios::binary) << binary;
  std::ofstream(from / "arch.json") << "{\"name\": \"found-1\"}\n";
  const std::vector<FilePart> files = read_saved_files(from.string());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "arch.json");  // sorted, '/'-separated
  EXPECT_EQ(files[1].path, "int8/weights.bin");
  EXPECT_EQ(files[1].bytes, binary);

  const fs::path to = fs::path(tmp.dir()) / "rank0" / "found-1";
  write_saved_files(files, to.string(), "test");
  std::ifstream in(to / "int8" / "weights.bin", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), binary);
  EXPECT_EQ(read_saved_files(to.string()).size(), 2u);  // no temporary file left behind
}

TEST(FinalTraining, FilesOutsideTheModelFolderAreRefused) {
  testing::TempDir tmp;
  const std::string dir = (fs::path(tmp.dir()) / "m").string();
  for (const char* bad : {"../escape.json", "/etc/x", "int8/../../escape", ""}) {
    EXPECT_THROW(write_saved_files({{bad, "x"}}, dir, "worker 1"), InputError) << bad;
  }
  EXPECT_FALSE(fs::exists(fs::path(tmp.dir()) / "escape.json"));
}

}  // namespace
}  // namespace frostnas
