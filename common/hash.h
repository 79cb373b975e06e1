#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace frostnas {

/// FNV-1a's 64-bit offset basis: the hash of no bytes.
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;

/// 64-bit FNV-1a of `n` bytes at `data`, continuing from `h`: stable across runs and
/// platforms, for digests that are stored and compared (architecture hashes, split digests,
/// cache keys, configuration hashes). Not a cryptographic hash.
inline uint64_t fnv1a(const void* data, size_t n, uint64_t h = kFnvOffsetBasis) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/// The same over the characters of `text` (without a terminator).
inline uint64_t fnv1a(const std::string& text, uint64_t h = kFnvOffsetBasis) {
  return fnv1a(text.data(), text.size(), h);
}

/// `h` as 16 lowercase hexadecimal digits.
inline std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace frostnas
