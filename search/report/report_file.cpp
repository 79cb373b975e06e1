#include "search/report/report_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_write.h"
#include "common/error.h"

namespace frostnas {

namespace {

[[noreturn]] void fail(const OutputFile& f, int error_number) {
  throw_write_error(f.flag + ": " + f.path, error_number);
}

}  // namespace

void write_files_atomically(const std::vector<OutputFile>& files) {
  std::vector<std::string> temps;
  std::vector<std::string> renamed;
  auto clean_up = [&] {
    for (const auto& t : temps) std::remove(t.c_str());
    for (const auto& r : renamed) std::remove(r.c_str());
  };
  try {
    for (const auto& f : files) {
      std::error_code ec;
      if (f.path.empty()) fail(f, ENOENT);
      if (std::filesystem::is_directory(f.path, ec)) fail(f, EISDIR);
      const std::string tmp = f.path + ".tmp-" + std::to_string(::getpid());
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) fail(f, errno);
      temps.push_back(tmp);
      out << f.text;
      if (!out.flush()) fail(f, errno != 0 ? errno : EIO);
    }
    for (size_t i = 0; i < files.size(); ++i) {
      if (std::rename(temps[i].c_str(), files[i].path.c_str()) != 0) fail(files[i], errno);
      renamed.push_back(files[i].path);
    }
  } catch (...) {
    clean_up();
    throw;
  }
}

}  // namespace frostnas
