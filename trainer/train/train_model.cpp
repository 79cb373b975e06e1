#include "trainer/train/train_model.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>

#include "space/error.h"
#include "space/json_reader.h"
#include "trainer/data/data_loader.h"
#include "trainer/data/rng.h"
#include "trainer/int8/convert.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/param_groups.h"
#include "trainer/progress_bar.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/train/evaluate.h"

namespace frostnas {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// The LR schedule runs on a virtual step count: progress in [0, 1] times this.
constexpr int64_t kVirtualSteps = int64_t{1} << 24;
constexpr const char* kResumeFormat = "frostnas.train_state/1";

// Stream ids mixed into the run seed, one per consumer of randomness.
constexpr uint64_t kLoaderStream = 0x4c4f4144;  // shuffling and augmentation
constexpr uint64_t kStepStream = 0x53544550;    // torch's generator, re-seeded every step
constexpr uint64_t kCalibStream = 0x43414c49;   // calibration batches

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Running sums of an epoch (kept in the resume state for an epoch cut in the middle).
struct EpochSums {
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t samples = 0;
  int64_t steps = 0;
  double seconds = 0;
};

nlohmann::json to_json(const EpochInfo& e) {
  return {{"epoch", e.epoch},           {"steps", e.steps},
          {"train_loss", e.train_loss}, {"train_acc", e.train_acc},
          {"seconds", e.seconds},       {"images_per_second", e.images_per_second},
          {"qat_active", e.qat_active}, {"lr", e.lr}};
}

EpochInfo epoch_from_json(const nlohmann::json& j) {
  EpochInfo e;
  e.epoch = j.at("epoch").get<int64_t>();
  e.steps = j.at("steps").get<int64_t>();
  e.train_loss = j.at("train_loss").get<double>();
  e.train_acc = j.at("train_acc").get<double>();
  e.seconds = j.at("seconds").get<double>();
  e.images_per_second = j.at("images_per_second").get<double>();
  e.qat_active = j.at("qat_active").get<bool>();
  e.lr = j.at("lr").get<double>();
  return e;
}

/// Where the next step starts, and everything else a resumed run needs.
struct LoopState {
  int64_t epoch = 0;
  int64_t step_in_epoch = 0;
  int64_t global_step = 0;
  double elapsed_s = 0;
  int64_t images_seen = 0;
  int64_t qat_switch_step = -1;
  EpochSums partial;
  std::vector<EpochInfo> epochs;
  std::vector<std::pair<int64_t, double>> loss_curve;
};

/// The config fields a resumed run must share with the checkpointed one.
const std::vector<std::string>& resume_keys() {
  static const std::vector<std::string> keys = {"epochs",           "batch_size",
                                                "optimizer",        "schedule",
                                                "lr_warmup_epochs", "other_weight_decay_scale",
                                                "label_smoothing",  "qat",
                                                "fp_warmup_epochs", "freeze_observers_epoch",
                                                "freeze_bn_epoch",  "engine",
                                                "transform",        "seed"};
  return keys;
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw InputError(path + ": cannot open for writing");
    out << text;
    if (!out) {
      std::remove(tmp.c_str());
      throw InputError(path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot rename " + tmp + " into place");
  }
}

/// Writes model-<step>.pt, optimizer-<step>.pt, then state.json naming them (renamed
/// into place last, so a crash leaves the previous complete checkpoint), then removes
/// the files of older checkpoints.
void save_resume_checkpoint(const std::string& dir, const NetSpec& spec, const TrainConfig& config,
                            QatNetImpl& net, torch::optim::Optimizer& optimizer, const LoopState& s,
                            bool gradboost_warmup) {
  fs::create_directories(dir);
  const std::string tag = std::to_string(s.global_step);
  const std::string model_name = "model-" + tag + ".pt";
  const std::string opt_name = "optimizer-" + tag + ".pt";
  save_qat_checkpoint(net, (fs::path(dir) / model_name).string());
  {
    const std::string path = (fs::path(dir) / opt_name).string();
    torch::save(optimizer, path + ".tmp");
    if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0)
      throw InputError(path + ": cannot rename into place");
  }
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : s.epochs) epochs.push_back(to_json(e));
  nlohmann::json j = {{"format", kResumeFormat},
                      {"arch", frostnas::to_json(spec)},
                      {"arch_hash", arch_hash(spec)},
                      {"config", frostnas::to_json(config)},
                      {"model", model_name},
                      {"optimizer", opt_name},
                      {"epoch", s.epoch},
                      {"step_in_epoch", s.step_in_epoch},
                      {"global_step", s.global_step},
                      {"elapsed_s", s.elapsed_s},
                      {"images_seen", s.images_seen},
                      {"qat_switch_step", s.qat_switch_step},
                      {"gradboost_warmup", gradboost_warmup},
                      {"rng",
                       "torch::manual_seed(mix_seed(seed, step)) before every step; "
                       "loader batches are functions of (seed, epoch, batch)"},
                      {"partial",
                       {{"loss_sum", s.partial.loss_sum},
                        {"correct", s.partial.correct},
                        {"samples", s.partial.samples},
                        {"steps", s.partial.steps},
                        {"seconds", s.partial.seconds}}},
                      {"epochs", epochs},
                      {"loss_curve", s.loss_curve}};
  write_text_atomically((fs::path(dir) / kResumeStateFile).string(), j.dump(2) + "\n");
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = (name.rfind("model-", 0) == 0 || name.rfind("optimizer-", 0) == 0) &&
                      name.size() > 3 && name.substr(name.size() - 3) == ".pt";
    if (ours && name != model_name && name != opt_name) {
      std::error_code ec;
      fs::remove(entry.path(), ec);
    }
  }
}

nlohmann::json read_state(const std::string& dir) {
  const std::string path = (fs::path(dir) / kResumeStateFile).string();
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open (no resume checkpoint in " + dir + ")");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw InputError(path + ": invalid JSON (" + std::string(e.what()).substr(0, 120) + ")");
  }
  if (!j.is_object() || j.value("format", "") != kResumeFormat)
    throw InputError(path + ": field 'format': expected '" + std::string(kResumeFormat) + "'");
  return j;
}

LoopState load_resume_checkpoint(const std::string& dir, const NetSpec& spec,
                                 const TrainConfig& config, QatNetImpl& net,
                                 torch::optim::Optimizer& optimizer) {
  const nlohmann::json j = read_state(dir);
  const std::string path = (fs::path(dir) / kResumeStateFile).string();
  LoopState s;
  try {
    if (j.at("arch_hash").get<std::string>() != arch_hash(spec))
      throw InputError(path + ": field 'arch_hash': the checkpoint is of another architecture");
    const nlohmann::json now = frostnas::to_json(config);
    const nlohmann::json& then = j.at("config");
    for (const auto& key : resume_keys()) {
      if (!then.contains(key) || then.at(key) != now.at(key)) {
        throw InputError(path + ": field 'config." + key + "': the checkpoint has " +
                         (then.contains(key) ? then.at(key).dump() : std::string("nothing")) +
                         ", this run " + now.at(key).dump());
      }
    }
    s.epoch = j.at("epoch").get<int64_t>();
    s.step_in_epoch = j.at("step_in_epoch").get<int64_t>();
    s.global_step = j.at("global_step").get<int64_t>();
    s.elapsed_s = j.at("elapsed_s").get<double>();
    s.images_seen = j.at("images_seen").get<int64_t>();
    s.qat_switch_step = j.at("qat_switch_step").get<int64_t>();
    const auto& p = j.at("partial");
    s.partial.loss_sum = p.at("loss_sum").get<double>();
    s.partial.correct = p.at("correct").get<int64_t>();
    s.partial.samples = p.at("samples").get<int64_t>();
    s.partial.steps = p.at("steps").get<int64_t>();
    s.partial.seconds = p.at("seconds").get<double>();
    for (const auto& e : j.at("epochs")) s.epochs.push_back(epoch_from_json(e));
    if (j.contains("loss_curve"))
      s.loss_curve = j.at("loss_curve").get<std::vector<std::pair<int64_t, double>>>();
    load_qat_checkpoint_into((fs::path(dir) / j.at("model").get<std::string>()).string(), net);
    const std::string opt_path = (fs::path(dir) / j.at("optimizer").get<std::string>()).string();
    if (!fs::exists(opt_path)) throw InputError(opt_path + ": missing optimizer state");
    try {
      torch::load(optimizer, opt_path);
    } catch (const c10::Error& e) {
      throw InputError(opt_path + ": unreadable optimizer state (" +
                       std::string(e.what_without_backtrace()).substr(0, 160) + ")");
    }
    set_gradboost_warmup(optimizer, j.at("gradboost_warmup").get<bool>());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": bad resume state (" + std::string(e.what()) + ")");
  }
  return s;
}

/// Whether every parameter and floating-point buffer of `net` is finite.
bool all_finite(QatNetImpl& net) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net.parameters()) {
    if (!torch::isfinite(p).all().item<bool>()) return false;
  }
  for (const auto& item : net.named_buffers()) {
    const auto& b = item.value();
    // Observer min/max start at +-inf by design.
    if (item.key().find("running_m") != std::string::npos && b.numel() == 1) continue;
    if (b.is_floating_point() && !torch::isfinite(b).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace

SplitAccuracy::SplitAccuracy() : qat_acc(kNaN), int8_acc(kNaN), fp32_acc(kNaN) {}

TrainResult::TrainResult()
    : qat_acc(kNaN), int8_acc(kNaN), fp32_acc(kNaN), final_train_loss(kNaN) {}

bool has_resume_checkpoint(const std::string& dir) {
  return !dir.empty() && fs::exists(fs::path(dir) / kResumeStateFile);
}

NetSpec adapt_spec_to_data(NetSpec spec, const ImageDataset& data, int64_t input_size) {
  TORCH_CHECK(data.size() > 0, "adapt_spec_to_data: empty data set");
  spec.in_channels = data.channels();
  spec.num_classes = data.num_classes;
  spec.input_size = input_size > 0 ? input_size : data.height();
  validate(spec, spec.name + " adapted to " + data.name);
  return spec;
}

TransformOptions input_transform_for(const NetSpec& spec, const ImageDataset& data,
                                     TransformOptions base) {
  base.size(spec.input_size == data.height() && spec.input_size == data.width() ? 0
                                                                                : spec.input_size);
  base.channels(spec.in_channels == data.channels() ? 0 : spec.in_channels);
  check_transform(base, data.channels());
  return base;
}

TrainResult train_model(const NetSpec& spec, const TrainConfig& config, const DataSplits& data,
                        const TrainCallbacks& callbacks, const std::string& resume_dir) {
  validate(config);
  if (data.train.size() == 0) throw InputError("training data: empty training set");
  check_transform(config.transform, data.train.channels());
  {
    const int64_t channels =
        config.transform.channels() > 0 ? config.transform.channels() : data.train.channels();
    const int64_t size =
        config.transform.size() > 0 ? config.transform.size() : data.train.height();
    if (spec.in_channels != channels || spec.input_size != size ||
        spec.num_classes != data.train.num_classes) {
      throw InputError("arch '" + spec.name + "': expects " + std::to_string(spec.in_channels) +
                       "x" + std::to_string(spec.input_size) + "x" +
                       std::to_string(spec.input_size) + " input and " +
                       std::to_string(spec.num_classes) + " classes, the data gives " +
                       std::to_string(channels) + "x" + std::to_string(size) + "x" +
                       std::to_string(size) + " and " + std::to_string(data.train.num_classes) +
                       " (adapt the arch with adapt_spec_to_data)");
    }
  }
  configure_runtime(config.threads);

  // Evaluation splits use the training set's normalisation.
  DataSplits splits = data;
  for (ImageDataset* d : {&splits.val, &splits.test}) {
    d->mean = splits.train.mean;
    d->std = splits.train.std;
  }

  TrainResult result;
  const torch::Device device = config.device;
  torch::manual_seed(config.seed);
  QatNet net(spec, config.engine);
  net->to(device);
  result.net = net;
  auto optimizer =
      make_optimizer(config.optimizer, split_weight_decay(*net, config.other_weight_decay_scale));

  DataLoader loader(splits.train, DataLoaderOptions()
                                      .batch_size(config.batch_size)
                                      .shuffle(true)
                                      .drop_last(splits.train.size() >= config.batch_size)
                                      .seed(mix_seed(config.seed, kLoaderStream))
                                      .prefetch(2)
                                      .device(device)
                                      .transform(config.transform));
  const int64_t spe = loader.batches_per_epoch();
  const int64_t total_steps = spe * config.epochs;
  result.steps_per_epoch = spe;

  int64_t switch_step = -1;  // first global step with fake quantization
  if (config.qat == QatScheme::kStatAssist)
    switch_step = std::llround(config.fp_warmup_epochs * static_cast<double>(spe));
  if (config.qat == QatScheme::kPlain) switch_step = 0;

  ScheduleConfig sc;
  sc.name = config.schedule;
  sc.total = kVirtualSteps;
  sc.warmup = std::llround(config.lr_warmup_epochs / static_cast<double>(config.epochs) *
                           static_cast<double>(kVirtualSteps));
  LrScheduler scheduler(*optimizer, make_schedule(sc));

  // Desired mode at (epoch, global step): a pure function, so resuming recomputes it.
  auto qat_active_at = [&](int64_t global) { return switch_step >= 0 && global >= switch_step; };
  auto mode_at = [&](int64_t epoch, int64_t global) {
    QatMode m = QatMode::float_mode();
    if (qat_active_at(global)) {
      m = QatMode::qat();
      if (config.freeze_observers_epoch >= 0 && epoch >= config.freeze_observers_epoch)
        m.observers = false;
    }
    if (config.freeze_bn_epoch >= 0 && epoch >= config.freeze_bn_epoch) m.bn_frozen = true;
    return m;
  };
  // StatAssist keeps the optimizer in warm-up until the switch; plain QAT never warms up.
  auto warmup_at = [&](int64_t global) {
    if (config.qat == QatScheme::kStatAssist) return !qat_active_at(global);
    return config.qat == QatScheme::kNone;
  };

  LoopState state;
  if (!resume_dir.empty()) {
    state = load_resume_checkpoint(resume_dir, spec, config, *net, *optimizer);
  }
  const bool channels_last = config.channels_last && device.is_cpu();
  net->set_channels_last(channels_last);
  net->set_mode(mode_at(state.epoch, state.global_step));
  set_gradboost_warmup(*optimizer, warmup_at(state.global_step));
  if (qat_active_at(state.global_step) && state.qat_switch_step < 0)
    state.qat_switch_step = switch_step;

  const Clock::time_point start = Clock::now();
  double excluded_s = 0;  // checkpoint writing does not count as training time
  auto elapsed = [&] { return state.elapsed_s + seconds_since(start) - excluded_s; };
  const double base_elapsed = state.elapsed_s;

  auto checkpoint = [&](int64_t next_epoch, int64_t next_step, const EpochSums& partial) {
    if (config.checkpoint_dir.empty()) return;
    const Clock::time_point t0 = Clock::now();
    LoopState s = state;
    s.epoch = next_epoch;
    s.step_in_epoch = next_step;
    s.partial = partial;
    s.elapsed_s = elapsed();
    save_resume_checkpoint(config.checkpoint_dir, spec, config, *net, *optimizer, s,
                           warmup_at(s.global_step));
    excluded_s += seconds_since(t0);
  };

  bool stop = false;
  for (int64_t epoch = state.epoch; epoch < config.epochs && !stop; ++epoch) {
    const bool resumed_epoch = epoch == state.epoch && state.step_in_epoch > 0;
    const int64_t first = resumed_epoch ? state.step_in_epoch : 0;
    EpochSums sums = resumed_epoch ? state.partial : EpochSums{};
    const Clock::time_point epoch_start = Clock::now();
    const double epoch_base_s = sums.seconds;
    double lr = 0;
    loader.start_epoch(epoch);
    for (int64_t i = 0; i < first; ++i) loader.next();

    std::unique_ptr<ProgressBar> bar;
    if (config.progress) {
      ProgressBarOptions po;
      po.quiet = config.quiet;
      po.unit = "img";
      bar = std::make_unique<ProgressBar>(
          "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config.epochs),
          (spe - first) * config.batch_size, po);
    }
    auto fields = [&] {
      char loss[32], acc[32], lrs[32];
      std::snprintf(loss, sizeof loss, "%.4f",
                    sums.steps > 0 ? sums.loss_sum / static_cast<double>(sums.steps) : kNaN);
      std::snprintf(acc, sizeof acc, "%.2f%%",
                    sums.samples > 0 ? 100.0 * static_cast<double>(sums.correct) /
                                           static_cast<double>(sums.samples)
                                     : kNaN);
      std::snprintf(lrs, sizeof lrs, "%.3g", lr);
      return std::vector<ProgressField>{{"loss", loss},
                                        {"acc", acc},
                                        {"lr", lrs},
                                        {"mode", net->mode().fake_quant ? "qat" : "fp"}};
    };

    for (int64_t s = first; s < spe; ++s) {
      auto batch = loader.next();
      TORCH_CHECK(batch.has_value(), "train_model: loader ran out of batches at step ", s);
      const int64_t global = state.global_step;

      StepInfo info;
      info.epoch = epoch;
      info.step_in_epoch = s;
      info.global_step = global;
      info.steps_per_epoch = spe;
      info.total_steps = total_steps;
      info.net = net.get();
      info.optimizer = optimizer.get();

      const QatMode want = mode_at(epoch, global);
      if (!(want == net->mode())) {
        const bool switching = want.fake_quant && !net->mode().fake_quant;
        net->set_mode(want);
        set_gradboost_warmup(*optimizer, warmup_at(global));
        if (switching) {
          state.qat_switch_step = global;
          info.qat_active = true;
          info.elapsed_s = elapsed();
          if (callbacks.on_qat_switch) callbacks.on_qat_switch(info);
        }
      }

      torch::manual_seed(mix_seed(mix_seed(config.seed, kStepStream), global));
      double progress = static_cast<double>(global) / static_cast<double>(total_steps);
      if (config.time_budget_s > 0) progress = std::max(progress, elapsed() / config.time_budget_s);
      lr = scheduler.set_step(std::min<int64_t>(
          kVirtualSteps, std::llround(progress * static_cast<double>(kVirtualSteps))));

      net->train();
      torch::Tensor logits, loss;
      double loss_value = 0;
      try {
        logits = net->forward(batch->x);
        loss = torch::nn::functional::cross_entropy(
            logits, batch->y,
            torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(
                config.label_smoothing));
        loss_value = loss.item<double>();
      } catch (const c10::Error&) {
        // Non-finite activations make the observers' range invalid and the fake-quant op
        // throws before a loss exists: that is divergence too.
        if (all_finite(*net)) throw;
        loss_value = std::numeric_limits<double>::quiet_NaN();
      }
      if (!std::isfinite(loss_value)) {
        result.diverged = true;
        char lr_text[32];
        std::snprintf(lr_text, sizeof lr_text, "%g", lr);
        result.diverged_reason = "non-finite loss (" + std::to_string(loss_value) + ") at epoch " +
                                 std::to_string(epoch) + " step " + std::to_string(s) +
                                 " (global step " + std::to_string(global) + ", lr " + lr_text +
                                 ")";
        stop = true;
        break;
      }
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();

      const int64_t n = batch->y.size(0);
      state.global_step = global + 1;
      state.images_seen += n;
      sums.loss_sum += loss_value;
      if (global % kLossCurveEvery == 0) state.loss_curve.emplace_back(global, loss_value);
      sums.correct += logits.detach().argmax(1).eq(batch->y).sum().item<int64_t>();
      sums.samples += n;
      sums.steps += 1;
      sums.seconds = epoch_base_s + seconds_since(epoch_start);

      info.loss = loss_value;
      info.lr = lr;
      info.qat_active = net->mode().fake_quant;
      info.elapsed_s = elapsed();
      bool interrupt = callbacks.on_step && callbacks.on_step(info);
      if (callbacks.stop_flag != nullptr && callbacks.stop_flag->load()) interrupt = true;
      if (bar) bar->update((s + 1 - first) * config.batch_size, fields());
      if (interrupt) {
        result.interrupted = true;
        if (s + 1 == spe) {
          // The epoch is complete: record it, resume at the next one.
          state.epochs.push_back(
              {epoch, sums.steps, sums.loss_sum / static_cast<double>(sums.steps),
               100.0 * static_cast<double>(sums.correct) / static_cast<double>(sums.samples),
               sums.seconds, static_cast<double>(sums.samples) / std::max(sums.seconds, 1e-9),
               info.qat_active, lr});
          sums = EpochSums{};
          checkpoint(epoch + 1, 0, sums);
        } else {
          checkpoint(epoch, s + 1, sums);
        }
        stop = true;
        break;
      }
      if (config.time_budget_s > 0 && info.elapsed_s >= config.time_budget_s) {
        result.budget_exhausted = true;
        stop = true;
        break;
      }
    }

    if (sums.steps > 0) {
      EpochInfo e{epoch,
                  sums.steps,
                  sums.loss_sum / static_cast<double>(sums.steps),
                  100.0 * static_cast<double>(sums.correct) / static_cast<double>(sums.samples),
                  sums.seconds,
                  static_cast<double>(sums.samples) / std::max(sums.seconds, 1e-9),
                  net->mode().fake_quant,
                  lr};
      state.epochs.push_back(e);
      if (callbacks.on_epoch_end) callbacks.on_epoch_end(e);
    }
    if (bar) bar->finish(fields());
    if (!stop && config.checkpoint_each_epoch && epoch + 1 < config.epochs)
      checkpoint(epoch + 1, 0, EpochSums{});
  }

  result.train_seconds = elapsed();
  result.steps = state.global_step;
  result.images_seen = state.images_seen;
  result.images_per_second =
      result.train_seconds > 0 ? static_cast<double>(state.images_seen) / result.train_seconds : 0;
  result.qat_switch_step = state.qat_switch_step;
  result.epochs = state.epochs;
  result.loss_curve = state.loss_curve;
  if (!result.epochs.empty()) result.final_train_loss = result.epochs.back().train_loss;
  (void)base_elapsed;
  if (result.diverged || result.interrupted) {
    net->set_channels_last(false);
    net->eval();
    return result;
  }

  // Freeze and evaluate.
  net->eval();
  auto evaluate = [&](const ForwardFn& f, const ImageDataset& d) {
    return evaluate_accuracy(f, d, config.transform, config.eval_batch_size, device);
  };
  auto qat_forward = [&](const torch::Tensor& x) { return net->forward(x); };
  if (config.eval_fp32) {
    net->set_mode(QatMode::float_mode());
    result.val.fp32_acc = evaluate(qat_forward, splits.val);
    result.test.fp32_acc = evaluate(qat_forward, splits.test);
  }
  if (state.qat_switch_step < 0) {
    // Never fake-quantized (--qat none, or a budget or warm-up covering the whole run):
    // post-training quantization. BN folds with its running statistics; the observers
    // see un-augmented training batches.
    QatMode m = QatMode::qat();
    m.bn_frozen = true;
    m.fake_quant = config.calibration_fake_quant;
    net->set_mode(m);
    TransformOptions t = config.transform;
    t.pad(0).flip(false);
    DataLoader calib(splits.train, DataLoaderOptions()
                                       .batch_size(config.eval_batch_size)
                                       .shuffle(true)
                                       .seed(mix_seed(config.seed, kCalibStream))
                                       .prefetch(1)
                                       .device(device)
                                       .transform(t));
    torch::NoGradGuard no_grad;
    calib.start_epoch(0);
    for (int64_t i = 0; i < config.calibration_batches; ++i) {
      auto b = calib.next();
      if (!b) break;
      net->forward(b->x);
    }
  }
  QatMode frozen = QatMode::qat();
  frozen.observers = false;
  frozen.bn_frozen = true;
  net->set_mode(frozen);
  result.val.qat_acc = evaluate(qat_forward, splits.val);
  result.test.qat_acc = evaluate(qat_forward, splits.test);
  net->set_channels_last(false);
  if (config.eval_int8) {
    if (device != torch::kCPU) net->to(torch::kCPU);
    QEngineGuard guard(config.engine);
    result.int8 = std::make_shared<Int8Net>(convert_to_int8(*net));
    auto int8_forward = [&](const torch::Tensor& x) { return result.int8->forward(x.cpu()); };
    auto eval_cpu = [&](const ImageDataset& d) {
      return evaluate_accuracy(int8_forward, d, config.transform, config.eval_batch_size,
                               torch::kCPU);
    };
    result.val.int8_acc = eval_cpu(splits.val);
    result.test.int8_acc = eval_cpu(splits.test);
    if (device != torch::kCPU) net->to(device);
  }
  result.val.samples = splits.val.size();
  result.test.samples = splits.test.size();
  const SplitAccuracy* main = nullptr;
  if (splits.test.size() > 0) {
    main = &result.test;
    result.eval_split = "test";
  } else if (splits.val.size() > 0) {
    main = &result.val;
    result.eval_split = "val";
  }
  if (main != nullptr) {
    result.qat_acc = main->qat_acc;
    result.int8_acc = main->int8_acc;
    result.fp32_acc = main->fp32_acc;
  }
  return result;
}

}  // namespace frostnas
