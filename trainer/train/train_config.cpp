#include "trainer/train/train_config.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <type_traits>

#include "common/error.h"
#include "common/json_reader.h"
#include "trainer/optim/lr_schedule.h"

namespace frostnas {

std::string to_string(QatScheme scheme) {
  switch (scheme) {
    case QatScheme::kStatAssist:
      return "statassist";
    case QatScheme::kPlain:
      return "plain";
    case QatScheme::kNone:
      return "none";
  }
  return "?";
}

std::vector<std::string> qat_scheme_names() { return {"statassist", "plain", "none"}; }

QatScheme parse_qat_scheme(const std::string& name, const std::string& field) {
  if (name == "statassist") return QatScheme::kStatAssist;
  if (name == "plain") return QatScheme::kPlain;
  if (name == "none") return QatScheme::kNone;
  throw InputError(field + ": unknown value '" + name +
                   "' (allowed: " + join_strings(qat_scheme_names()) + ")");
}

std::string default_optimizer(QatScheme scheme) {
  return scheme == QatScheme::kStatAssist ? "qsgd" : "sgd";
}

namespace {

template <class T>
void require(bool ok, const std::string& field, T value, const std::string& allowed) {
  if (!ok) {
    std::ostringstream s;
    s << field << ": " << value << " is out of range (allowed: " << allowed << ")";
    throw InputError(s.str());
  }
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// Names a field in errors: its JSON path under `prefix` (values read from a file) or its
/// command-line flag (empty prefix).
struct FieldName {
  std::string prefix;
  std::string operator()(const std::string& key, const std::string& flag) const {
    return prefix.empty() ? flag : prefix + "." + key;
  }
};

// The one list of the JSON fields of TrainConfig and its parts; to_json and
// train_config_from_json both walk it. checkpoint_dir, checkpoint_each_epoch, progress and
// quiet are settings of a process, not of the configuration, and are not listed.
template <class Options, class F>
void visit_fields(Options& o, F&& f,
                  std::enable_if_t<std::is_same_v<std::decay_t<Options>, OptimizerConfig>>* = 0) {
  f("name", o.name);
  f("lr", o.lr);
  f("weight_decay", o.weight_decay);
  f("momentum", o.momentum);
  f("dampening", o.dampening);
  f("nesterov", o.nesterov);
  f("beta1", o.beta1);
  f("beta2", o.beta2);
  f("eps", o.eps);
  f("amsgrad", o.amsgrad);
  f("alpha", o.alpha);
  f("centered", o.centered);
  f("boost_beta", o.boost_beta);
  f("clip_by", o.clip_by);
  f("toss_coin", o.toss_coin);
  f("noise_decay", o.noise_decay);
}

template <class Options, class F>
void visit_fields(Options& t, F&& f,
                  std::enable_if_t<std::is_same_v<std::decay_t<Options>, TransformOptions>>* = 0) {
  f("pad", t.pad());
  f("flip", t.flip());
  f("normalize", t.normalize());
  f("size", t.size());
  f("channels", t.channels());
}

template <class Config, class F>
void visit_fields(Config& c, F&& f,
                  std::enable_if_t<std::is_same_v<std::decay_t<Config>, TrainConfig>>* = 0) {
  f("epochs", c.epochs);
  f("batch_size", c.batch_size);
  f("optimizer", c.optimizer);
  f("schedule", c.schedule);
  f("lr_warmup_epochs", c.lr_warmup_epochs);
  f("other_weight_decay_scale", c.other_weight_decay_scale);
  f("label_smoothing", c.label_smoothing);
  f("qat", c.qat);
  f("fp_warmup_epochs", c.fp_warmup_epochs);
  f("freeze_observers_epoch", c.freeze_observers_epoch);
  f("freeze_bn_epoch", c.freeze_bn_epoch);
  f("calibration_batches", c.calibration_batches);
  f("calibration_fake_quant", c.calibration_fake_quant);
  f("engine", c.engine);
  f("transform", c.transform);
  f("eval_batch_size", c.eval_batch_size);
  f("time_budget_s", c.time_budget_s);
  f("threads", c.threads);
  f("seed", c.seed);
  f("device", c.device);
  f("channels_last", c.channels_last);
  f("eval_int8", c.eval_int8);
  f("eval_fp32", c.eval_fp32);
}

template <class T>
nlohmann::json encode(const T& v) {
  if constexpr (std::is_same_v<T, QatScheme> || std::is_same_v<T, QuantEngine>) {
    return to_string(v);
  } else if constexpr (std::is_same_v<T, torch::Device>) {
    return v.str();
  } else if constexpr (std::is_same_v<T, OptimizerConfig> || std::is_same_v<T, TransformOptions> ||
                       std::is_same_v<T, TrainConfig>) {
    nlohmann::json out = nlohmann::json::object();
    visit_fields(v, [&](const char* key, const auto& field) { out[key] = encode(field); });
    return out;
  } else {
    return v;
  }
}

template <class T>
void decode(const JsonReader& r, T& dst);

// Reads the fields of `dst` that `r` has and refuses keys that are not fields.
template <class T>
void decode_object(const JsonReader& r, T& dst) {
  std::vector<std::string> keys;
  visit_fields(dst, [&](const char* key, auto& field) {
    keys.push_back(key);
    if (r.has(key)) decode(r.at(key), field);
  });
  r.expect_object(keys);
}

template <class T>
void decode(const JsonReader& r, T& dst) {
  const nlohmann::json& v = r.value();
  const std::string where = r.source() + ": " + r.path();
  if constexpr (std::is_same_v<T, OptimizerConfig> || std::is_same_v<T, TrainConfig> ||
                std::is_same_v<T, TransformOptions>) {
    decode_object(r, dst);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) r.fail("must be true or false");
    dst = v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer() || (std::is_unsigned_v<T> && v.get<int64_t>() < 0))
      r.fail(std::is_unsigned_v<T> ? "must be an integer >= 0" : "must be an integer");
    dst = v.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) r.fail("must be a number");
    dst = v.get<T>();
  } else {
    if (!v.is_string()) r.fail("must be a string");
    const std::string text = v.get<std::string>();
    if constexpr (std::is_same_v<T, QatScheme>) {
      dst = parse_qat_scheme(text, where);
    } else if constexpr (std::is_same_v<T, QuantEngine>) {
      dst = parse_quant_engine(text, where);
    } else if constexpr (std::is_same_v<T, torch::Device>) {
      try {
        dst = torch::Device(text);
      } catch (const c10::Error&) {
        r.fail("unknown device '" + text + "' (allowed: cpu, cuda, cuda:N)");
      }
    } else {
      dst = text;
    }
  }
}

}  // namespace

void validate(const TrainConfig& c, const std::string& json_prefix) {
  const FieldName name{json_prefix};
  require(c.epochs >= 1 && c.epochs <= 100000, name("epochs", "--epochs"), c.epochs, "1..100000");
  require(c.batch_size >= 1 && c.batch_size <= 65536, name("batch_size", "--batch-size"),
          c.batch_size, "1..65536");
  require(std::isfinite(c.optimizer.lr) && c.optimizer.lr > 0, name("optimizer.lr", "--lr"),
          c.optimizer.lr, "a positive number");
  require(std::isfinite(c.optimizer.weight_decay) && c.optimizer.weight_decay >= 0,
          name("optimizer.weight_decay", "--weight-decay"), c.optimizer.weight_decay, ">= 0");
  if (!contains(optimizer_names(), c.optimizer.name)) {
    throw InputError(name("optimizer.name", "--optimizer") + ": unknown value '" +
                     c.optimizer.name + "' (allowed: " + join_strings(optimizer_names()) + ")");
  }
  if (!contains(schedule_names(), c.schedule)) {
    throw InputError(name("schedule", "--schedule") + ": unknown value '" + c.schedule +
                     "' (allowed: " + join_strings(schedule_names()) + ")");
  }
  require(
      std::isfinite(c.lr_warmup_epochs) && c.lr_warmup_epochs >= 0 && c.lr_warmup_epochs < c.epochs,
      name("lr_warmup_epochs", "--lr-warmup-epochs"), c.lr_warmup_epochs,
      "0 <= value < " + name("epochs", "--epochs"));
  require(c.other_weight_decay_scale >= 0, name("other_weight_decay_scale", "--other-wd-scale"),
          c.other_weight_decay_scale, ">= 0");
  require(c.label_smoothing >= 0 && c.label_smoothing < 1,
          name("label_smoothing", "--label-smoothing"), c.label_smoothing, "0 <= value < 1");
  require(std::isfinite(c.fp_warmup_epochs) && c.fp_warmup_epochs >= 0 &&
              c.fp_warmup_epochs <= static_cast<double>(c.epochs),
          name("fp_warmup_epochs", "--fp-warmup-epochs"), c.fp_warmup_epochs,
          "0.." + name("epochs", "--epochs"));
  require(c.freeze_observers_epoch >= -1,
          name("freeze_observers_epoch", "--freeze-observers-epoch"), c.freeze_observers_epoch,
          "-1 (never) or an epoch >= 0");
  require(c.freeze_bn_epoch >= -1, name("freeze_bn_epoch", "--freeze-bn-epoch"), c.freeze_bn_epoch,
          "-1 (never) or an epoch >= 0");
  require(c.calibration_batches >= 1 && c.calibration_batches <= 100000,
          name("calibration_batches", "--calibration-batches"), c.calibration_batches, "1..100000");
  require(c.eval_batch_size >= 1 && c.eval_batch_size <= 65536,
          name("eval_batch_size", "--eval-batch-size"), c.eval_batch_size, "1..65536");
  require(std::isfinite(c.time_budget_s) && c.time_budget_s >= 0,
          name("time_budget_s", "--time-budget"), c.time_budget_s,
          "0 (none) or a positive number of seconds");
  require(c.threads >= 0 && c.threads <= 1024, name("threads", "--threads"), c.threads,
          "0 (leave) or 1..1024");
  require(c.transform.pad() >= 0 && c.transform.pad() <= 64, name("transform.pad", "--pad"),
          c.transform.pad(), "0..64");
  if (!quant_engine_available(c.engine)) {
    throw InputError(name("engine", "--engine") + ": '" + to_string(c.engine) +
                     "' is not available in this build");
  }
}

nlohmann::json to_json(const TrainConfig& c) { return encode(c); }

TrainConfig train_config_from_json(const JsonReader& r) {
  TrainConfig c;
  decode(r, c);
  return c;
}

TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& source) {
  return train_config_from_json(JsonReader(j, source));
}

}  // namespace frostnas
