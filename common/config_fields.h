#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_reader.h"

namespace frostnas {

/// The allowed values of a number field: lo..hi, each end open or closed.
struct NumberRange {
  double lo = -HUGE_VAL;
  double hi = HUGE_VAL;
  bool lo_open = false;
  bool hi_open = false;

  static NumberRange closed(double lo, double hi) { return {lo, hi, false, false}; }
  /// (lo, hi]
  static NumberRange open_closed(double lo, double hi) { return {lo, hi, true, false}; }
  /// [lo, hi)
  static NumberRange closed_open(double lo, double hi) { return {lo, hi, false, true}; }
};

/// How a field is read and written beyond its check.
enum class FieldRule {
  kOptional,  ///< absent: the struct's default stays
  kRequired,  ///< absent: "missing required field"
  /// Written only when its value differs from the default-constructed struct's (so that
  /// configurations stored before the field existed still compare equal).
  kUnlessDefault,
};

/// The one list of a configuration's JSON fields. Each config struct `C` declares
///
///   void config_fields(ConfigFields& f, C& c);
///
/// next to its definition, naming every field once with its key and check:
///
///   f.integer("threads", c.threads, 1, 256);
///   f.number("target_ms", c.target_ms, NumberRange::open_closed(0, 1e9), FieldRule::kRequired);
///   f.choice("source", c.source, {"table", "macs"});
///   f.enumeration("engine", c.engine, parse_quant_engine);
///   f.nested("latency", c.latency);
///
/// The defaults are the struct's member initializers. read_config and write_config walk
/// the list: reading refuses unknown keys (JsonReader::expect_object) and fills only the
/// keys present, every error naming the source and the JSON path of the value; writing
/// emits every field (kUnlessDefault ones only when not the default): the stored form.
/// Fields that need more than one check (a path or an inline object, bounds that depend
/// on earlier fields) are `custom`; cross-field checks go to `check`.
class ConfigFields {
 public:
  enum class Mode { kKeys, kRead, kWrite };

  /// kRead: reads the fields present in `r`.
  explicit ConfigFields(const JsonReader& r) : mode_(Mode::kRead), reader_(&r) {}
  /// kKeys (the only mode that needs no reader or output): collects the keys.
  explicit ConfigFields(Mode keys_only) : mode_(Mode::kKeys) {}
  /// kWrite: adds every field to `out`.
  explicit ConfigFields(nlohmann::json& out) : mode_(Mode::kWrite), out_(&out) {}

  Mode mode() const { return mode_; }

  /// An integer in [lo, hi].
  void integer(const char* key, int64_t& field, int64_t lo = std::numeric_limits<int64_t>::min(),
               int64_t hi = std::numeric_limits<int64_t>::max(),
               FieldRule rule = FieldRule::kOptional);
  /// A non-negative integer (seeds): [0, 2^63 - 1].
  void integer(const char* key, uint64_t& field, FieldRule rule = FieldRule::kOptional);
  /// An integer out of `allowed`.
  void integer_in(const char* key, int64_t& field, const std::vector<int64_t>& allowed,
                  FieldRule rule = FieldRule::kOptional);
  void number(const char* key, double& field, NumberRange range = {},
              FieldRule rule = FieldRule::kOptional);
  void flag(const char* key, bool& field, FieldRule rule = FieldRule::kOptional);
  /// Any string.
  void text(const char* key, std::string& field, FieldRule rule = FieldRule::kOptional);
  /// A string out of `allowed`.
  void choice(const char* key, std::string& field, const std::vector<std::string>& allowed,
              FieldRule rule = FieldRule::kOptional);

  /// An enum written as names[value]: `names` lists the names in enum order.
  template <class E>
  void enumeration(const char* key, E& field, const std::vector<std::string>& names,
                   FieldRule rule = FieldRule::kOptional) {
    std::string name = names.at(static_cast<size_t>(field));
    const std::string before = name;
    choice(key, name, names, rule);
    if (mode_ == Mode::kRead && name != before)
      field = static_cast<E>(std::find(names.begin(), names.end(), name) - names.begin());
  }

  /// An enum read with its own parser, `parse(text, "SOURCE: $.path.key")` (which throws
  /// InputError naming the allowed values), and written as `to_string(value)`.
  template <class E>
  void enumeration(const char* key, E& field, E (*parse)(const std::string&, const std::string&),
                   FieldRule rule = FieldRule::kOptional) {
    custom(
        key,
        [&field, parse, key](const JsonReader& r) {
          if (r.has(key)) field = parse(r.get_string(key), r.source() + ": " + r.at(key).path());
        },
        [&field] { return nlohmann::json(to_string(field)); }, rule);
  }

  /// A nested config with its own `config_fields` list.
  template <class C>
  void nested(const char* key, C& field, FieldRule rule = FieldRule::kOptional);

  /// A field read and written by hand: `read` gets the enclosing object's reader and is
  /// called whether or not the key is present; `write` returns the field's JSON.
  void custom(const char* key, const std::function<void(const JsonReader& r)>& read,
              const std::function<nlohmann::json()>& write, FieldRule rule = FieldRule::kOptional);

  /// The "format" tag of a file kind, required and equal to `tag` (`what`: "a search
  /// configuration", for the error).
  void format(const char* tag, const char* what);

  /// A check run on the object's reader after every field is read (cross-field rules such
  /// as min_lr <= lr); not run when writing.
  void check(const std::function<void(const JsonReader& r)>& after_read);

  // Used by read_config and write_config.
  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<std::string>& unless_default_keys() const { return unless_default_; }
  void run_checks() const;

 private:
  /// kKeys: records `key`; kRead: whether `key` is present (throws if required and absent);
  /// kWrite: records an kUnlessDefault key; false unless reading a present key.
  bool reads(const char* key, FieldRule rule);
  template <class T>
  void write(const char* key, const T& value) {
    (*out_)[key] = value;
  }

  Mode mode_;
  const JsonReader* reader_ = nullptr;
  nlohmann::json* out_ = nullptr;
  std::vector<std::string> keys_;
  std::vector<std::string> unless_default_;
  std::vector<std::function<void(const JsonReader&)>> checks_;
};

/// The keys of C's fields, in the order of its list.
template <class C>
std::vector<std::string> config_keys(C& config) {
  ConfigFields keys(ConfigFields::Mode::kKeys);
  config_fields(keys, config);
  return keys.keys();
}

/// Reads the keys of `r` into `config` (absent keys keep its values) through
/// config_fields(ConfigFields&, C&); unknown keys and bad values throw InputError
/// "SOURCE: $.path.key: ... (allowed: ...)".
template <class C>
void read_config(const JsonReader& r, C& config) {
  r.expect_object(config_keys(config));
  ConfigFields reader(r);
  config_fields(reader, config);
  reader.run_checks();
}

/// Every field of `config` as a JSON object (kUnlessDefault fields only when they differ
/// from a default-constructed C's).
template <class C>
nlohmann::json write_config(const C& config) {
  nlohmann::json out = nlohmann::json::object();
  ConfigFields writer(out);
  // The writer only reads the fields; config_fields takes them by reference for reading.
  config_fields(writer, const_cast<C&>(config));
  if (!writer.unless_default_keys().empty()) {
    C defaults;
    nlohmann::json default_out = nlohmann::json::object();
    ConfigFields default_writer(default_out);
    config_fields(default_writer, defaults);
    for (const std::string& key : writer.unless_default_keys())
      if (out.at(key) == default_out.at(key)) out.erase(key);
  }
  return out;
}

template <class C>
void ConfigFields::nested(const char* key, C& field, FieldRule rule) {
  custom(
      key,
      [&field, key](const JsonReader& r) {
        if (r.has(key)) read_config(r.at(key), field);
      },
      [&field] { return write_config(field); }, rule);
}

}  // namespace frostnas
