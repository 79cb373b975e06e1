#include "trainer/train/train_config.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <type_traits>

#include "space/error.h"
#include "space/json_reader.h"
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
void require(bool ok, const std::string& option, T value, const std::string& allowed) {
  if (!ok) {
    std::ostringstream s;
    s << option << ": " << value << " is out of range (allowed: " << allowed << ")";
    throw InputError(s.str());
  }
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

void validate(const TrainConfig& c) {
  require(c.epochs >= 1 && c.epochs <= 100000, "--epochs", c.epochs, "1..100000");
  require(c.batch_size >= 1 && c.batch_size <= 65536, "--batch-size", c.batch_size, "1..65536");
  require(std::isfinite(c.optimizer.lr) && c.optimizer.lr > 0, "--lr", c.optimizer.lr,
          "a positive number");
  require(std::isfinite(c.optimizer.weight_decay) && c.optimizer.weight_decay >= 0,
          "--weight-decay", c.optimizer.weight_decay, ">= 0");
  if (!contains(optimizer_names(), c.optimizer.name)) {
    throw InputError("--optimizer: unknown value '" + c.optimizer.name +
                     "' (allowed: " + join_strings(optimizer_names()) + ")");
  }
  if (!contains(schedule_names(), c.schedule)) {
    throw InputError("--schedule: unknown value '" + c.schedule +
                     "' (allowed: " + join_strings(schedule_names()) + ")");
  }
  require(
      std::isfinite(c.lr_warmup_epochs) && c.lr_warmup_epochs >= 0 && c.lr_warmup_epochs < c.epochs,
      "--lr-warmup-epochs", c.lr_warmup_epochs, "0 <= value < --epochs");
  require(c.other_weight_decay_scale >= 0, "--other-wd-scale", c.other_weight_decay_scale, ">= 0");
  require(c.label_smoothing >= 0 && c.label_smoothing < 1, "--label-smoothing", c.label_smoothing,
          "0 <= value < 1");
  require(std::isfinite(c.fp_warmup_epochs) && c.fp_warmup_epochs >= 0 &&
              c.fp_warmup_epochs <= static_cast<double>(c.epochs),
          "--fp-warmup-epochs", c.fp_warmup_epochs, "0..--epochs");
  require(c.freeze_observers_epoch >= -1, "--freeze-observers-epoch", c.freeze_observers_epoch,
          "-1 (never) or an epoch >= 0");
  require(c.freeze_bn_epoch >= -1, "--freeze-bn-epoch", c.freeze_bn_epoch,
          "-1 (never) or an epoch >= 0");
  require(c.calibration_batches >= 1 && c.calibration_batches <= 100000, "--calibration-batches",
          c.calibration_batches, "1..100000");
  require(c.eval_batch_size >= 1 && c.eval_batch_size <= 65536, "--eval-batch-size",
          c.eval_batch_size, "1..65536");
  require(std::isfinite(c.time_budget_s) && c.time_budget_s >= 0, "--time-budget", c.time_budget_s,
          "0 (none) or a positive number of seconds");
  require(c.threads >= 0 && c.threads <= 1024, "--threads", c.threads, "0 (leave) or 1..1024");
  require(c.transform.pad() >= 0 && c.transform.pad() <= 64, "--pad", c.transform.pad(), "0..64");
  require(c.transform.crop_scale() >= 0 && c.transform.crop_scale() <= 1, "--crop-scale",
          c.transform.crop_scale(), "0 (off) or (0, 1]");
  if (!quant_engine_available(c.engine)) {
    throw InputError("--engine: '" + to_string(c.engine) + "' is not available in this build");
  }
}

nlohmann::json to_json(const TrainConfig& c) {
  const auto& o = c.optimizer;
  nlohmann::json opt = {{"name", o.name},
                        {"lr", o.lr},
                        {"weight_decay", o.weight_decay},
                        {"momentum", o.momentum},
                        {"dampening", o.dampening},
                        {"nesterov", o.nesterov},
                        {"beta1", o.beta1},
                        {"beta2", o.beta2},
                        {"eps", o.eps},
                        {"amsgrad", o.amsgrad},
                        {"alpha", o.alpha},
                        {"centered", o.centered},
                        {"boost_beta", o.boost_beta},
                        {"clip_by", o.clip_by},
                        {"toss_coin", o.toss_coin},
                        {"noise_decay", o.noise_decay}};
  nlohmann::json tr = {{"pad", c.transform.pad()},
                       {"flip", c.transform.flip()},
                       {"crop_scale", c.transform.crop_scale()},
                       {"normalize", c.transform.normalize()},
                       {"size", c.transform.size()},
                       {"channels", c.transform.channels()}};
  return {{"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"optimizer", opt},
          {"schedule", c.schedule},
          {"lr_warmup_epochs", c.lr_warmup_epochs},
          {"other_weight_decay_scale", c.other_weight_decay_scale},
          {"label_smoothing", c.label_smoothing},
          {"qat", to_string(c.qat)},
          {"fp_warmup_epochs", c.fp_warmup_epochs},
          {"freeze_observers_epoch", c.freeze_observers_epoch},
          {"freeze_bn_epoch", c.freeze_bn_epoch},
          {"calibration_batches", c.calibration_batches},
          {"calibration_fake_quant", c.calibration_fake_quant},
          {"engine", to_string(c.engine)},
          {"transform", tr},
          {"eval_batch_size", c.eval_batch_size},
          {"time_budget_s", c.time_budget_s},
          {"threads", c.threads},
          {"seed", c.seed},
          {"device", c.device.str()},
          {"eval_int8", c.eval_int8},
          {"eval_fp32", c.eval_fp32}};
}

TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& source) {
  TrainConfig c;
  try {
    auto get = [&](const char* key, auto& dst) {
      if (j.contains(key)) dst = j.at(key).get<std::decay_t<decltype(dst)>>();
    };
    get("epochs", c.epochs);
    get("batch_size", c.batch_size);
    get("schedule", c.schedule);
    get("lr_warmup_epochs", c.lr_warmup_epochs);
    get("other_weight_decay_scale", c.other_weight_decay_scale);
    get("label_smoothing", c.label_smoothing);
    if (j.contains("qat"))
      c.qat = parse_qat_scheme(j.at("qat").get<std::string>(), source + ": qat");
    get("fp_warmup_epochs", c.fp_warmup_epochs);
    get("freeze_observers_epoch", c.freeze_observers_epoch);
    get("freeze_bn_epoch", c.freeze_bn_epoch);
    get("calibration_batches", c.calibration_batches);
    get("calibration_fake_quant", c.calibration_fake_quant);
    if (j.contains("engine"))
      c.engine = parse_quant_engine(j.at("engine").get<std::string>(), source + ": engine");
    get("eval_batch_size", c.eval_batch_size);
    get("time_budget_s", c.time_budget_s);
    get("threads", c.threads);
    get("seed", c.seed);
    if (j.contains("device")) c.device = torch::Device(j.at("device").get<std::string>());
    get("eval_int8", c.eval_int8);
    get("eval_fp32", c.eval_fp32);
    if (j.contains("optimizer")) {
      const auto& o = j.at("optimizer");
      auto geto = [&](const char* key, auto& dst) {
        if (o.contains(key)) dst = o.at(key).get<std::decay_t<decltype(dst)>>();
      };
      auto& p = c.optimizer;
      geto("name", p.name);
      geto("lr", p.lr);
      geto("weight_decay", p.weight_decay);
      geto("momentum", p.momentum);
      geto("dampening", p.dampening);
      geto("nesterov", p.nesterov);
      geto("beta1", p.beta1);
      geto("beta2", p.beta2);
      geto("eps", p.eps);
      geto("amsgrad", p.amsgrad);
      geto("alpha", p.alpha);
      geto("centered", p.centered);
      geto("boost_beta", p.boost_beta);
      geto("clip_by", p.clip_by);
      geto("toss_coin", p.toss_coin);
      geto("noise_decay", p.noise_decay);
    }
    if (j.contains("transform")) {
      const auto& t = j.at("transform");
      if (t.contains("pad")) c.transform.pad(t.at("pad").get<int64_t>());
      if (t.contains("flip")) c.transform.flip(t.at("flip").get<bool>());
      if (t.contains("crop_scale")) c.transform.crop_scale(t.at("crop_scale").get<double>());
      if (t.contains("normalize")) c.transform.normalize(t.at("normalize").get<bool>());
      if (t.contains("size")) c.transform.size(t.at("size").get<int64_t>());
      if (t.contains("channels")) c.transform.channels(t.at("channels").get<int64_t>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(source + ": bad training configuration (" + std::string(e.what()) + ")");
  } catch (const c10::Error& e) {
    throw InputError(source + ": device: " + e.what_without_backtrace());
  }
  return c;
}

}  // namespace frostnas
