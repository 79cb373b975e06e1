#include "common/checkpoint.h"

#include <filesystem>
#include <fstream>

#include "common/atomic_write.h"
#include "common/error.h"

namespace frostnas {

namespace {

void check_format(const nlohmann::json& j, const std::string& path, const std::string& format) {
  if (!j.is_object() || !j.contains("format") || !j.at("format").is_string() ||
      j.at("format").get<std::string>() != format)
    throw InputError(path + ": field 'format': expected '" + format + "'");
}

std::string torch_message(const c10::Error& e) {
  return std::string(e.what_without_backtrace()).substr(0, 160);
}

}  // namespace

nlohmann::json read_state_file(const std::string& path, const std::string& format) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": invalid JSON (" + std::string(e.what()).substr(0, 120) + ")");
  }
  check_format(j, path, format);
  return j;
}

void save_archive_checkpoint(
    const std::string& path, const nlohmann::json& state,
    const std::function<void(torch::serialize::OutputArchive&)>& write_parts) {
  torch::serialize::OutputArchive archive;
  archive.write("state", c10::IValue(state.dump()));
  if (write_parts) write_parts(archive);
  atomic_write_with(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

nlohmann::json load_archive_checkpoint(const std::string& path, const std::string& format,
                                       torch::serialize::InputArchive& archive) {
  nlohmann::json j;
  read_torch_file(path, "checkpoint", [&] {
    archive.load_from(path);
    c10::IValue v;
    archive.read("state", v);
    try {
      j = nlohmann::json::parse(v.toStringRef());
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path + ": bad checkpoint state (" + std::string(e.what()) + ")");
    }
  });
  check_format(j, path, format);
  return j;
}

void read_torch_file(const std::string& path, const std::string& what,
                     const std::function<void()>& read) {
  if (!std::filesystem::exists(path)) throw InputError(path + ": missing " + what);
  try {
    read();
  } catch (const c10::Error& e) {
    throw InputError(path + ": unreadable " + what + " (" + torch_message(e) + ")");
  }
}

}  // namespace frostnas
