#include "search/driver/worker_protocol.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "controllers/base64.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas {

namespace {

nlohmann::json parse_message(const std::string& text, const std::string& source) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.is_object() && j.contains("type") && j["type"].is_string()) return j;
  } catch (const nlohmann::json::exception&) {
  }
  throw InputError(source + ": not a frostnas worker message");
}

/// A reader of message `j` after checking its type; `fields` include "type".
JsonReader expect(const nlohmann::json& j, const std::string& source, const std::string& type,
                  std::initializer_list<const char*> fields) {
  JsonReader r(j, source);
  if (j["type"] != type) r.fail_at("type", "expected \"" + type + "\"");
  r.expect_object(fields);
  return r;
}

double number_or_nan(const JsonReader& r, const std::string& key) {
  if (!r.has(key) || r.at(key).value().is_null()) return std::nan("");
  return r.get_double(key, -1e300, 1e300);
}

uint64_t hash_tensor(const torch::Tensor& t, uint64_t h) {
  if (!t.defined()) return h;
  const torch::Tensor c = t.contiguous();
  return fnv1a(c.data_ptr(), c.numel() * c.element_size(), h);
}

}  // namespace

std::string encode(const HelloMessage& m) {
  return nlohmann::json{{"type", "hello"}, {"version", m.version}, {"config", m.config}}.dump();
}

std::string encode(const ReadyMessage& m) {
  return nlohmann::json{{"type", "ready"},
                        {"version", m.version},
                        {"config_hash", m.config_hash},
                        {"data_checksum", m.data_checksum},
                        {"host", m.host},
                        {"threads", m.threads},
                        {"error", m.error}}
      .dump();
}

std::string encode(const TaskMessage& m) {
  return nlohmann::json{{"type", "task"},   {"candidate_id", m.candidate_id},
                        {"seq", m.seq},     {"attempt", m.attempt},
                        {"arch", m.arch},   {"seed", m.seed},
                        {"train", m.train}, {"job", m.job}}
      .dump();
}

std::string encode(const ResultMessage& m) {
  nlohmann::json files = nlohmann::json::array();
  for (const FilePart& f : m.files)
    files.push_back({{"path", f.path}, {"base64", base64_encode(f.bytes)}});
  return nlohmann::json{{"type", "result"},
                        {"candidate_id", m.candidate_id},
                        {"evaluation", to_json(m.evaluation)},
                        {"files", files}}
      .dump();
}

std::string encode_stop() { return nlohmann::json{{"type", "stop"}}.dump(); }

std::string message_type(const std::string& text, const std::string& source) {
  return parse_message(text, source)["type"].get<std::string>();
}

HelloMessage decode_hello(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_message(text, source);
  const JsonReader r = expect(j, source, "hello", {"type", "version", "config"});
  HelloMessage m;
  m.version = r.get_string("version");
  m.config = r.at("config").value();
  return m;
}

ReadyMessage decode_ready(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_message(text, source);
  const JsonReader r =
      expect(j, source, "ready",
             {"type", "version", "config_hash", "data_checksum", "host", "threads", "error"});
  ReadyMessage m;
  m.version = r.get_string("version");
  m.config_hash = r.get_string("config_hash");
  m.data_checksum = r.get_string("data_checksum");
  m.host = r.get_string("host");
  m.threads = r.get_int("threads", 1, 1024);
  m.error = r.get_string("error");
  return m;
}

TaskMessage decode_task(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_message(text, source);
  const JsonReader r =
      expect(j, source, "task",
             {"type", "candidate_id", "seq", "attempt", "arch", "seed", "train", "job"});
  TaskMessage m;
  m.candidate_id = r.get_int("candidate_id", 1, INT64_MAX);
  m.seq = r.get_int("seq", 1, INT64_MAX);
  m.attempt = r.get_int("attempt", 1, INT64_MAX);
  m.arch = r.at("arch").value();
  if (!r.has("seed") || !j["seed"].is_number_unsigned())
    r.fail_at("seed", "expected an unsigned integer");
  m.seed = j["seed"].get<uint64_t>();
  m.train = r.at("train").value();
  m.job = r.get_string("job");
  if (m.job != kJobEvaluate && m.job != kJobFinal)
    r.fail_at("job", "\"" + m.job + "\" is not allowed (allowed: evaluate, final)");
  return m;
}

ResultMessage decode_result(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_message(text, source);
  const JsonReader r = expect(j, source, "result", {"type", "candidate_id", "evaluation", "files"});
  ResultMessage m;
  m.candidate_id = r.get_int("candidate_id", 1, INT64_MAX);
  m.evaluation = evaluation_from_json(r.at("evaluation").value(), source + " ($.evaluation)");
  if (!j["files"].is_array()) r.fail_at("files", "expected an array");
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("base64") ||
        !f["base64"].is_string())
      r.fail_at("files", "expected objects with \"path\" and \"base64\" texts");
    m.files.push_back({f["path"].get<std::string>(),
                       base64_decode(f["base64"].get<std::string>(), source + " ($.files)")});
  }
  return m;
}

nlohmann::json to_json(const Evaluation& e) {
  return {{"fp32_acc", metric_json(e.fp32_acc)},
          {"qat_acc", metric_json(e.qat_acc)},
          {"int8_acc", metric_json(e.int8_acc)},
          {"train_seconds", e.train_seconds},
          {"failed", e.failed},
          {"interrupted", e.interrupted},
          {"error", e.error}};
}

Evaluation evaluation_from_json(const nlohmann::json& j, const std::string& source) {
  JsonReader r(j, source);
  r.expect_object(
      {"fp32_acc", "qat_acc", "int8_acc", "train_seconds", "failed", "interrupted", "error"});
  Evaluation e;
  e.fp32_acc = number_or_nan(r, "fp32_acc");
  e.qat_acc = number_or_nan(r, "qat_acc");
  e.int8_acc = number_or_nan(r, "int8_acc");
  e.train_seconds = r.get_double("train_seconds", 0.0, 1e12);
  e.failed = r.get_bool_or("failed", false);
  e.interrupted = r.get_bool_or("interrupted", false);
  e.error = r.get_string("error");
  return e;
}

std::string config_hash(const SearchConfig& config) { return config_hash(config.to_json()); }

std::string config_hash(const nlohmann::json& stored) { return hex64(fnv1a(stored.dump())); }

std::string data_checksum(const DataSplits& data) {
  uint64_t h = kFnvOffsetBasis;
  // A search's splits have no test set: its undefined tensors leave the hash as it is.
  for (const ImageDataset* d : {&data.train, &data.val, &data.test}) {
    h = hash_tensor(d->images, h);
    h = hash_tensor(d->rows, h);  // a split of a memory-mapped set: which rows of its images
    h = hash_tensor(d->labels, h);
  }
  return hex64(h);
}

std::string first_line(const std::exception& e) {
  const std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

Evaluation evaluate_task(const DataSplits& data, const TaskMessage& task) {
  try {
    TrainingEvaluator evaluator(data, train_config_from_json(task.train, "task train config"));
    return evaluator.evaluate(net_spec_from_json(task.arch, "task"), task.seed);
  } catch (const std::exception& e) {
    Evaluation failed;
    failed.failed = true;
    failed.error = first_line(e);
    return failed;
  }
}

std::string program_version() { return FROSTNAS_VERSION; }

int64_t mpi_job_size_from_env() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) return std::max<int64_t>(std::atoll(v), 0);
  }
  return 0;
}

}  // namespace frostnas
