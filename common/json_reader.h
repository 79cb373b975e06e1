#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace frostnas {

/// Reads and parses a JSON file; throws InputError naming the file (and the line
/// and column of a syntax error).
nlohmann::json load_json_file(const std::string& path);

/// Writes `j` to `path` atomically (a temporary file renamed over the target),
/// so that a failed write never leaves a partial file.
void save_json_file(const nlohmann::json& j, const std::string& path);

/// A read-only view of one JSON value that knows where it came from (`source`,
/// usually a file name) and its JSON path (`$.stages[1].blocks[0]`), so that
/// every validation error names both and the allowed values.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& value, std::string source, std::string path = "$");

  const nlohmann::json& value() const { return *value_; }
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }

  /// Throws unless the value is an object whose keys are all in `allowed`.
  void expect_object(std::initializer_list<const char*> allowed) const;
  void expect_object(const std::vector<std::string>& allowed) const;
  /// Throws unless the value is a non-empty array (or an empty one if allowed).
  void expect_array(bool allow_empty = false) const;

  bool has(const std::string& key) const;
  JsonReader at(const std::string& key) const;  ///< required field
  JsonReader at(size_t index) const;            ///< array element
  size_t size() const;

  /// Required integer in [lo, hi] (hi = INT64_MAX reads "allowed: >= lo" in errors).
  int64_t get_int(const std::string& key, int64_t lo, int64_t hi) const;
  int64_t get_int_or(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const;
  /// Required integer out of `allowed`.
  int64_t get_int_in(const std::string& key, const std::vector<int64_t>& allowed) const;
  /// Required number in [lo, hi], each end open when `lo_open` / `hi_open`.
  double get_double(const std::string& key, double lo, double hi, bool lo_open = false,
                    bool hi_open = false) const;
  double get_double_or(const std::string& key, double fallback, double lo, double hi,
                       bool lo_open = false) const;
  std::string get_string(const std::string& key) const;
  std::string get_string_or(const std::string& key, const std::string& fallback) const;
  std::string get_string_in(const std::string& key, const std::vector<std::string>& allowed) const;
  bool get_bool_or(const std::string& key, bool fallback) const;
  /// This value as an integer in `allowed` (for array elements).
  int64_t as_int_in(const std::vector<int64_t>& allowed) const;

  /// Throws InputError("<source>: <path>.<key>: <message>").
  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void fail_at(const std::string& key, const std::string& message) const;

 private:
  int64_t as_int(const nlohmann::json& v, const std::string& key) const;
  std::string child_path(const std::string& key) const;

  const nlohmann::json* value_;
  std::string source_;
  std::string path_;
};

/// "3, 5, 7"
std::string join_ints(const std::vector<int64_t>& values);
std::string join_strings(const std::vector<std::string>& values);

}  // namespace frostnas
