#include "trainer/data/data_file.h"

#include <zlib.h>

#include <filesystem>

namespace frostnas {

InputError data_file_error(const std::string& path, int64_t offset, const std::string& message) {
  return InputError(path + ": byte " + std::to_string(offset) + ": " + message);
}

std::vector<uint8_t> read_data_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path + ": not a regular file");
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw InputError(path + ": cannot open file");
  std::vector<uint8_t> bytes;
  size_t size = 0;
  // A failed gzread returns nothing of its chunk, so errors are located to the
  // start of the 64 KiB chunk that failed.
  const size_t kChunk = 1 << 16;
  int read = 0;
  do {
    if (bytes.size() < size + kChunk) bytes.resize(std::max(2 * bytes.size(), size + kChunk));
    read = gzread(file, bytes.data() + size, kChunk);
    if (read > 0) size += static_cast<size_t>(read);
  } while (read > 0);
  int code = Z_OK;
  std::string message = gzerror(file, &code);
  if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);  // zlib's prefix
  gzclose(file);
  if (code == Z_BUF_ERROR) {
    throw data_file_error(path, size, "gzip stream ends early (truncated file)");
  }
  if (read < 0 || (code != Z_OK && code != Z_STREAM_END)) {
    throw data_file_error(path, size, "corrupt gzip data (" + message + ")");
  }
  bytes.resize(size);
  return bytes;
}

std::string find_data_file(const std::string& dir, const std::string& name) {
  const std::filesystem::path base = std::filesystem::path(dir.empty() ? "." : dir) / name;
  const std::string gz = base.string() + ".gz";
  std::error_code ec;
  if (std::filesystem::exists(gz, ec)) return gz;
  if (std::filesystem::exists(base, ec)) return base.string();
  throw InputError(base.string() + ": no such file (also tried " + gz + ")");
}

}  // namespace frostnas
