#pragma once

#include <functional>
#include <string>

namespace frostnas {

/// Throws for a file that cannot be written, `<what>: cannot write file (<reason>)`: an
/// InputError when the path itself is wrong (a missing folder, a folder in the way: errno
/// ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG), an EnvironmentError otherwise (permission denied,
/// disk full, read-only file system, I/O error).
[[noreturn]] void throw_write_error(const std::string& what, int error_number);

/// Writes `bytes` to `path` through a temporary file in the same folder renamed over the
/// target, so that readers and crashes never see a partial file. On failure removes the
/// temporary file and throws as throw_write_error.
void atomic_write(const std::string& path, const std::string& bytes);

/// As atomic_write for writers that take a path (LibTorch archives): `write(tmp)` writes the
/// whole content to the temporary path `tmp`, which is then renamed over `path`. A writer
/// that throws leaves `path` as it was.
void atomic_write_with(const std::string& path,
                       const std::function<void(const std::string& tmp)>& write);

}  // namespace frostnas
