#include "controllers/base64.h"

#include "common/error.h"

namespace frostnas {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(const std::string& text, const std::string& what) {
  auto value = [&](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    throw InputError(what + ": not valid base64");
  };
  if (text.size() % 4 != 0) throw InputError(what + ": not valid base64");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool pad2 = text[i + 2] == '=', pad3 = text[i + 3] == '=';
    if ((pad2 && !pad3) || ((pad2 || pad3) && i + 4 != text.size())) {
      throw InputError(what + ": not valid base64");
    }
    uint32_t v = (value(text[i]) << 18) | (value(text[i + 1]) << 12);
    if (!pad2) v |= value(text[i + 2]) << 6;
    if (!pad3) v |= value(text[i + 3]);
    out += static_cast<char>((v >> 16) & 255);
    if (!pad2) out += static_cast<char>((v >> 8) & 255);
    if (!pad3) out += static_cast<char>(v & 255);
  }
  return out;
}

}  // namespace frostnas
