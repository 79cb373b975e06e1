#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace frostnas {

/// InputError "<path>: byte <offset>: <message>".
InputError data_file_error(const std::string& path, int64_t offset, const std::string& message);

/// The whole content of `path`, decompressed when it is gzipped (plain files are
/// read as they are). Throws InputError naming the file when it cannot be read
/// or its gzip stream is corrupt or cut short (with the decompressed byte offset).
std::vector<uint8_t> read_data_file(const std::string& path);

/// `dir/name.gz` when it exists, else `dir/name`; throws InputError naming both
/// paths when neither exists.
std::string find_data_file(const std::string& dir, const std::string& name);

}  // namespace frostnas
