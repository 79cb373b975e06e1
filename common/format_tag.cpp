#include "common/format_tag.h"

namespace frostnas {

void expect_format(const JsonReader& r, const std::string& format, const std::string& what) {
  const std::string given = r.get_string("format");
  if (given != format)
    r.fail_at("format", "\"" + given + "\" is not " + what + " (allowed: " + format + ")");
}

}  // namespace frostnas
