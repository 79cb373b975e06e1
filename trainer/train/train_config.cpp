#include "trainer/train/train_config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/config_fields.h"
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

}  // namespace

// The JSON fields of TrainConfig and its parts. Their ranges are checked by validate(), which
// names a field by its command-line flag or its JSON path. checkpoint_dir and
// checkpoint_each_epoch are settings of a process, not of the configuration: not listed.
void config_fields(ConfigFields& f, OptimizerConfig& o) {
  f.text("name", o.name);
  f.number("lr", o.lr);
  f.number("weight_decay", o.weight_decay);
  f.number("momentum", o.momentum);
  f.number("dampening", o.dampening);
  f.flag("nesterov", o.nesterov);
  f.number("beta1", o.beta1);
  f.number("beta2", o.beta2);
  f.number("eps", o.eps);
  f.flag("amsgrad", o.amsgrad);
  f.number("alpha", o.alpha);
  f.flag("centered", o.centered);
  f.number("boost_beta", o.boost_beta);
  f.number("clip_by", o.clip_by);
  f.flag("toss_coin", o.toss_coin);
  f.number("noise_decay", o.noise_decay);
}

void config_fields(ConfigFields& f, TrainConfig& c) {
  f.integer("epochs", c.epochs);
  f.integer("batch_size", c.batch_size);
  f.nested("optimizer", c.optimizer);
  f.text("schedule", c.schedule);
  f.number("lr_warmup_epochs", c.lr_warmup_epochs);
  f.number("other_weight_decay_scale", c.other_weight_decay_scale);
  f.number("label_smoothing", c.label_smoothing);
  f.enumeration("qat", c.qat, parse_qat_scheme);
  f.number("fp_warmup_epochs", c.fp_warmup_epochs);
  f.integer("freeze_observers_epoch", c.freeze_observers_epoch);
  f.integer("freeze_bn_epoch", c.freeze_bn_epoch);
  f.integer("calibration_batches", c.calibration_batches);
  f.flag("calibration_fake_quant", c.calibration_fake_quant);
  f.enumeration("engine", c.engine, parse_quant_engine);
  // Written only when per_tensor, so that configurations stored before the field existed
  // still equal their checkpoints' and resume.
  f.enumeration("weight_quant", c.weight_quant, weight_quant_names(), FieldRule::kUnlessDefault);
  f.nested("transform", c.transform);
  f.integer("eval_batch_size", c.eval_batch_size);
  f.number("time_budget_s", c.time_budget_s);
  f.integer("threads", c.threads);
  f.integer("seed", c.seed);
  f.custom(
      "device",
      [&c](const JsonReader& r) {
        if (!r.has("device")) return;
        const std::string text = r.get_string("device");
        try {
          c.device = torch::Device(text);
        } catch (const c10::Error&) {
          r.fail_at("device", "unknown device '" + text + "' (allowed: cpu, cuda, cuda:N)");
        }
      },
      [&c] { return nlohmann::json(c.device.str()); });
  f.flag("channels_last", c.channels_last);
  f.flag("eval_int8", c.eval_int8);
  f.flag("eval_fp32", c.eval_fp32);
}

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
  require(c.transform.crop_scale() >= 0 && c.transform.crop_scale() <= 1,
          name("transform.crop_scale", "--crop-scale"), c.transform.crop_scale(),
          "0 (off) or (0, 1]");
  if (!quant_engine_available(c.engine)) {
    throw InputError(name("engine", "--engine") + ": '" + to_string(c.engine) +
                     "' is not available in this build");
  }
}

nlohmann::json to_json(const TrainConfig& c) { return write_config(c); }

void validated_train_field(ConfigFields& f, const char* key, TrainConfig& train) {
  f.custom(
      key,
      [key, &train](const JsonReader& r) {
        // A given object starts from the defaults, not from `train`'s current values.
        if (r.has(key)) train = train_config_from_json(r.at(key));
        validate(train, r.source() + ": " + r.path() + "." + key);
      },
      [&train] { return to_json(train); });
}

TrainConfig train_config_from_json(const JsonReader& r) {
  TrainConfig c;
  read_config(r, c);
  return c;
}

TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& source) {
  return train_config_from_json(JsonReader(j, source));
}

}  // namespace frostnas
