#pragma once

#include <string>

namespace frostnas {

/// Standard base64 (RFC 4648) of arbitrary bytes, for binary state inside JSON.
std::string base64_encode(const std::string& bytes);
/// Throws InputError("<what>: not valid base64") on bad input.
std::string base64_decode(const std::string& text, const std::string& what);

}  // namespace frostnas
