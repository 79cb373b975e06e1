#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "common/atomic_write.h"
#include "common/error.h"
#include "tests/common/temp_dir.h"

namespace frostnas {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

size_t entries(const std::string& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

/// Caps the size of files this process may write (RLIMIT_FSIZE) for the scope, with SIGXFSZ
/// ignored so that a write past the cap fails with EFBIG: a disk that refuses the data.
class FileSizeCap {
 public:
  explicit FileSizeCap(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit cap = saved_;
    cap.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &cap);
  }
  ~FileSizeCap() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_);
  }

 private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

TEST(AtomicWrite, ReplacesTheFileAndLeavesNoTemporary) {
  testing::TempDir dir;
  const std::string path = dir.file("a.txt");
  atomic_write(path, "first");
  atomic_write(path, "second");
  EXPECT_EQ(read_text(path), "second");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicWrite, AFullDiskIsAnEnvironmentErrorAndKeepsTheOldFile) {
  testing::TempDir dir;
  const std::string path = dir.file("a.txt");
  atomic_write(path, "old");
  {
    FileSizeCap cap(16);
    try {
      atomic_write(path, std::string(4096, 'x'));
      ADD_FAILURE() << "no error";
    } catch (const EnvironmentError& e) {
      EXPECT_EQ(std::string(e.what()), path + ": cannot write file (" + std::strerror(EFBIG) + ")");
    }
  }
  EXPECT_EQ(read_text(path), "old");
  EXPECT_EQ(entries(dir.path()), 1u);  // the temporary file is gone
}

TEST(AtomicWrite, AMissingFolderIsAnInputError) {
  testing::TempDir dir;
  EXPECT_THROW(atomic_write(dir.file("missing/a.txt"), "x"), InputError);
  EXPECT_EQ(entries(dir.path()), 0u);
}

TEST(AtomicWrite, AWriterThatThrowsLeavesTheTargetAlone) {
  testing::TempDir dir;
  const std::string path = dir.file("a.bin");
  atomic_write(path, "old");
  EXPECT_THROW(atomic_write_with(path,
                                 [](const std::string& tmp) {
                                   std::ofstream(tmp) << "partial";
                                   throw std::runtime_error("archive failed");
                                 }),
               std::runtime_error);
  EXPECT_EQ(read_text(path), "old");
  EXPECT_EQ(entries(dir.path()), 1u);
  atomic_write_with(path, [](const std::string& tmp) { std::ofstream(tmp) << "new"; });
  EXPECT_EQ(read_text(path), "new");
}

TEST(WriteError, BadPathsAreInputErrorsAndRefusingDisksEnvironmentErrors) {
  for (const int e : {ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG}) {
    EXPECT_THROW(throw_write_error("f", e), InputError) << e;
  }
  for (const int e : {EACCES, ENOSPC, EROFS, EIO, EDQUOT, EFBIG}) {
    EXPECT_THROW(throw_write_error("f", e), EnvironmentError) << e;
  }
}

}  // namespace
}  // namespace frostnas
