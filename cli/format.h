#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace frostnas::cli {

/// `v` printed with a printf format of one double ("%.2f"); "-" when not finite.
inline std::string fmt(const char* format, double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace frostnas::cli
