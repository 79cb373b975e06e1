#include "common/config_fields.h"

#include "common/format_tag.h"

namespace frostnas {

bool ConfigFields::reads(const char* key, FieldRule rule) {
  switch (mode_) {
    case Mode::kKeys:
      keys_.emplace_back(key);
      return false;
    case Mode::kWrite:
      if (rule == FieldRule::kUnlessDefault) unless_default_.emplace_back(key);
      return false;
    case Mode::kRead:
      if (rule == FieldRule::kRequired) reader_->at(key);  // throws "missing required field"
      return reader_->has(key);
  }
  return false;
}

void ConfigFields::integer(const char* key, int64_t& field, int64_t lo, int64_t hi,
                           FieldRule rule) {
  if (reads(key, rule)) field = reader_->get_int(key, lo, hi);
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::integer(const char* key, uint64_t& field, FieldRule rule) {
  if (reads(key, rule))
    field = static_cast<uint64_t>(reader_->get_int(key, 0, std::numeric_limits<int64_t>::max()));
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::integer_in(const char* key, int64_t& field, const std::vector<int64_t>& allowed,
                              FieldRule rule) {
  if (reads(key, rule)) field = reader_->get_int_in(key, allowed);
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::number(const char* key, double& field, NumberRange range, FieldRule rule) {
  if (reads(key, rule))
    field = reader_->get_double(key, range.lo, range.hi, range.lo_open, range.hi_open);
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::flag(const char* key, bool& field, FieldRule rule) {
  if (reads(key, rule)) field = reader_->get_bool_or(key, field);
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::text(const char* key, std::string& field, FieldRule rule) {
  if (reads(key, rule)) field = reader_->get_string(key);
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::choice(const char* key, std::string& field,
                          const std::vector<std::string>& allowed, FieldRule rule) {
  if (reads(key, rule)) field = reader_->get_string_in(key, allowed);
  if (mode_ == Mode::kWrite) write(key, field);
}

void ConfigFields::custom(const char* key, const std::function<void(const JsonReader& r)>& read,
                          const std::function<nlohmann::json()>& write_value, FieldRule rule) {
  reads(key, rule);
  if (mode_ == Mode::kRead) read(*reader_);
  if (mode_ == Mode::kWrite) (*out_)[key] = write_value();
}

void ConfigFields::format(const char* tag, const char* what) {
  custom(
      "format", [tag, what](const JsonReader& r) { expect_format(r, tag, what); },
      [tag] { return nlohmann::json(tag); });
}

void ConfigFields::check(const std::function<void(const JsonReader& r)>& after_read) {
  if (mode_ == Mode::kRead) checks_.push_back(after_read);
}

void ConfigFields::run_checks() const {
  for (const auto& c : checks_) c(*reader_);
}

}  // namespace frostnas
