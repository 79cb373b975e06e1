#pragma once

#include <string>

#include "common/json_reader.h"

namespace frostnas {

/// Checks the "format" field of a file's top-level object. Throws InputError
/// (`<source>: $.format: "x" is not <what> (allowed: <format>)`) unless it is `format`.
void expect_format(const JsonReader& r, const std::string& format, const std::string& what);

}  // namespace frostnas
