#include "common/json_reader.h"
#include "common/atomic_write.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace frostnas {

nlohmann::json load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 1, column = 1;
    const size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw InputError(path + ": not valid JSON at line " + std::to_string(line) + ", column " +
                     std::to_string(column));
  }
}

void save_json_file(const nlohmann::json& j, const std::string& path) {
  atomic_write(path, j.dump(2) + "\n");
}

std::string join_ints(const std::vector<int64_t>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(values[i]);
  }
  return out;
}

std::string join_strings(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += values[i];
  }
  return out;
}

namespace {
const char* type_name(const nlohmann::json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  return "a number";
}
}  // namespace

JsonReader::JsonReader(const nlohmann::json& value, std::string source, std::string path)
    : value_(&value), source_(std::move(source)), path_(std::move(path)) {}

void JsonReader::fail(const std::string& message) const {
  throw InputError(source_ + ": " + path_ + ": " + message);
}

void JsonReader::fail_at(const std::string& key, const std::string& message) const {
  throw InputError(source_ + ": " + child_path(key) + ": " + message);
}

std::string JsonReader::child_path(const std::string& key) const { return path_ + "." + key; }

void JsonReader::expect_object(std::initializer_list<const char*> allowed) const {
  expect_object(std::vector<std::string>(allowed.begin(), allowed.end()));
}

void JsonReader::expect_object(const std::vector<std::string>& allowed) const {
  if (!value_->is_object()) fail(std::string("expected an object, got ") + type_name(*value_));
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      fail_at(it.key(), "unknown field (allowed fields: " + join_strings(allowed) + ")");
  }
}

void JsonReader::expect_array(bool allow_empty) const {
  if (!value_->is_array()) fail(std::string("expected an array, got ") + type_name(*value_));
  if (!allow_empty && value_->empty()) fail("must not be empty");
}

bool JsonReader::has(const std::string& key) const {
  return value_->is_object() && value_->contains(key);
}

JsonReader JsonReader::at(const std::string& key) const {
  if (!has(key)) fail_at(key, "missing required field");
  return JsonReader(value_->at(key), source_, child_path(key));
}

JsonReader JsonReader::at(size_t index) const {
  return JsonReader(value_->at(index), source_, path_ + "[" + std::to_string(index) + "]");
}

size_t JsonReader::size() const { return value_->size(); }

int64_t JsonReader::as_int(const nlohmann::json& v, const std::string& key) const {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  const std::string msg = std::string("expected an integer, got ") + type_name(v);
  if (key.empty()) fail(msg);
  fail_at(key, msg);
}

int64_t JsonReader::get_int(const std::string& key, int64_t lo, int64_t hi) const {
  const int64_t v = as_int(at(key).value(), key);
  if (v < lo || v > hi) {
    const std::string allowed = hi == std::numeric_limits<int64_t>::max()
                                    ? ">= " + std::to_string(lo)
                                    : std::to_string(lo) + ".." + std::to_string(hi);
    fail_at(key, std::to_string(v) + " is out of range (allowed: " + allowed + ")");
  }
  return v;
}

int64_t JsonReader::get_int_or(const std::string& key, int64_t fallback, int64_t lo,
                               int64_t hi) const {
  return has(key) ? get_int(key, lo, hi) : fallback;
}

int64_t JsonReader::get_int_in(const std::string& key, const std::vector<int64_t>& allowed) const {
  const int64_t v = as_int(at(key).value(), key);
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    fail_at(key, std::to_string(v) + " is not allowed (allowed: " + join_ints(allowed) + ")");
  }
  return v;
}

int64_t JsonReader::as_int_in(const std::vector<int64_t>& allowed) const {
  const int64_t v = as_int(*value_, "");
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    fail(std::to_string(v) + " is not allowed (allowed: " + join_ints(allowed) + ")");
  }
  return v;
}

double JsonReader::get_double(const std::string& key, double lo, double hi, bool lo_open,
                              bool hi_open) const {
  const auto& v = at(key).value();
  if (!v.is_number()) fail_at(key, std::string("expected a number, got ") + type_name(v));
  const double d = v.get<double>();
  const bool below = lo_open ? !(d > lo) : !(d >= lo);
  const bool above = hi_open ? !(d < hi) : !(d <= hi);
  if (below || above) {
    std::ostringstream range;
    range << (lo_open ? "(" : "[") << lo << ", " << hi << (hi_open ? ")" : "]");
    std::ostringstream shown;
    shown << d;
    fail_at(key, shown.str() + " is out of range (allowed: " + range.str() + ")");
  }
  return d;
}

double JsonReader::get_double_or(const std::string& key, double fallback, double lo, double hi,
                                 bool lo_open) const {
  return has(key) ? get_double(key, lo, hi, lo_open) : fallback;
}

std::string JsonReader::get_string(const std::string& key) const {
  const auto& v = at(key).value();
  if (!v.is_string()) fail_at(key, std::string("expected a string, got ") + type_name(v));
  return v.get<std::string>();
}

std::string JsonReader::get_string_or(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::string JsonReader::get_string_in(const std::string& key,
                                      const std::vector<std::string>& allowed) const {
  const std::string v = get_string(key);
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    fail_at(key, "\"" + v + "\" is not allowed (allowed: " + join_strings(allowed) + ")");
  }
  return v;
}

bool JsonReader::get_bool_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = at(key).value();
  if (!v.is_boolean()) fail_at(key, std::string("expected true or false, got ") + type_name(v));
  return v.get<bool>();
}

}  // namespace frostnas
