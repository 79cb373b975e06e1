#include "common/atomic_write.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace frostnas {

namespace {

std::string temp_path(const std::string& path) {
  // The process id keeps two processes writing the same target from sharing a temporary.
  return path + ".tmp-" + std::to_string(::getpid());
}

[[noreturn]] void fail(const std::string& path, const std::string& tmp, int error_number) {
  std::remove(tmp.c_str());
  throw_write_error(path, error_number);
}

void rename_into_place(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path, tmp, errno);
}

}  // namespace

void throw_write_error(const std::string& what, int error_number) {
  const std::string message = what + ": cannot write file (" +
                              (error_number != 0 ? std::strerror(error_number) : "write failed") +
                              ")";
  switch (error_number) {
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
      throw InputError(message);
    default:
      throw EnvironmentError(message);
  }
}

void atomic_write(const std::string& path, const std::string& bytes) {
  const std::string tmp = temp_path(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, tmp, errno);
    errno = 0;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) fail(path, tmp, errno != 0 ? errno : EIO);
  }
  rename_into_place(tmp, path);
}

void atomic_write_with(const std::string& path,
                       const std::function<void(const std::string& tmp)>& write) {
  const std::string tmp = temp_path(path);
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  rename_into_place(tmp, path);
}

}  // namespace frostnas
