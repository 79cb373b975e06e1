#include "trainer/train/train_model.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>

#include "common/clock.h"
#include "common/error.h"
#include "common/random.h"
#include "trainer/data/data_loader.h"
#include "trainer/int8/convert.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/param_groups.h"
#include "trainer/train/evaluate.h"
#include "trainer/train/qat_step.h"
#include "trainer/train/train_state.h"

namespace frostnas {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// The LR schedule runs on a virtual step count: progress in [0, 1] times this.
constexpr int64_t kVirtualSteps = int64_t{1} << 24;

// Stream ids mixed into the run seed, one per consumer of randomness.
constexpr uint64_t kLoaderStream = 0x4c4f4144;  // shuffling and augmentation
constexpr uint64_t kStepStream = 0x53544550;    // torch's generator, re-seeded every step
constexpr uint64_t kCalibStream = 0x43414c49;   // calibration batches

/// Refuses a configuration or data that does not fit `spec`.
void check_inputs(const NetSpec& spec, const TrainConfig& config, const DataSplits& data) {
  validate(config);
  if (data.train.size() == 0) throw InputError("training data: empty training set");
  check_transform(config.transform, data.train.channels());
  const int64_t channels =
      config.transform.channels() > 0 ? config.transform.channels() : data.train.channels();
  const int64_t size = config.transform.size() > 0 ? config.transform.size() : data.train.height();
  if (spec.in_channels != channels || spec.input_size != size ||
      spec.num_classes != data.train.num_classes) {
    throw InputError(
        "arch '" + spec.name + "': expects " + std::to_string(spec.in_channels) + "x" +
        std::to_string(spec.input_size) + "x" + std::to_string(spec.input_size) + " input and " +
        std::to_string(spec.num_classes) + " classes, the data gives " + std::to_string(channels) +
        "x" + std::to_string(size) + "x" + std::to_string(size) + " and " +
        std::to_string(data.train.num_classes) + " (adapt the arch with adapt_spec_to_data)");
  }
}

/// Everything one training run holds while it trains.
struct Run {
  Run(const NetSpec& s, const TrainConfig& c, const TrainCallbacks& cb, const DataSplits& data)
      : spec(s), config(c), callbacks(cb), splits(data), device(c.device) {}

  const NetSpec& spec;
  const TrainConfig& config;
  const TrainCallbacks& callbacks;
  DataSplits splits;  ///< val and test normalised with the training set's statistics
  torch::Device device;
  QatNet net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<DataLoader> loader;
  std::unique_ptr<LrScheduler> scheduler;
  std::unique_ptr<QatSchedule> schedule;
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  LoopState state;
  SteadyClock::time_point start;
  double excluded_s = 0;  ///< checkpoint writing does not count as training time

  double elapsed() const { return state.elapsed_s + seconds_since(start) - excluded_s; }
};

/// Builds the network, optimizer, loader and schedules of `r`, and loads the resume
/// checkpoint of `resume_dir` when given.
void set_up(Run& r, const std::string& resume_dir) {
  const TrainConfig& c = r.config;
  for (ImageDataset* d : {&r.splits.val, &r.splits.test}) {
    d->mean = r.splits.train.mean;
    d->std = r.splits.train.std;
  }
  torch::manual_seed(c.seed);
  r.net = QatNet(r.spec, c.engine, c.weight_quant);
  r.net->to(r.device);
  r.optimizer = make_optimizer(c.optimizer, split_weight_decay(*r.net, c.other_weight_decay_scale));
  r.loader = std::make_unique<DataLoader>(r.splits.train,
                                          DataLoaderOptions()
                                              .batch_size(c.batch_size)
                                              .shuffle(true)
                                              .drop_last(r.splits.train.size() >= c.batch_size)
                                              .seed(mix_seed(c.seed, kLoaderStream))
                                              .prefetch(2)
                                              .device(r.device)
                                              .transform(c.transform));
  r.steps_per_epoch = r.loader->batches_per_epoch();
  r.total_steps = r.steps_per_epoch * c.epochs;
  r.schedule = std::make_unique<QatSchedule>(c.qat, c.fp_warmup_epochs, r.steps_per_epoch,
                                             c.freeze_observers_epoch, c.freeze_bn_epoch);
  ScheduleConfig sc;
  sc.name = c.schedule;
  sc.total = kVirtualSteps;
  sc.warmup = std::llround(c.lr_warmup_epochs / static_cast<double>(c.epochs) *
                           static_cast<double>(kVirtualSteps));
  r.scheduler = std::make_unique<LrScheduler>(*r.optimizer, make_schedule(sc));

  if (!resume_dir.empty())
    r.state = load_resume_checkpoint(resume_dir, r.spec, c, *r.net, *r.optimizer);
  r.net->set_channels_last(c.channels_last && r.device.is_cpu());
  r.net->set_mode(r.schedule->mode_at(r.state.epoch, r.state.global_step));
  set_gradboost_warmup(*r.optimizer, r.schedule->gradboost_warmup_at(r.state.global_step));
  if (r.schedule->qat_active_at(r.state.global_step) && r.state.qat_switch_step < 0)
    r.state.qat_switch_step = r.schedule->switch_step();
  r.start = SteadyClock::now();
}

/// Saves a resume checkpoint that continues at (next_epoch, next_step).
void checkpoint(Run& r, int64_t next_epoch, int64_t next_step, const EpochSums& partial) {
  if (r.config.checkpoint_dir.empty()) return;
  const SteadyClock::time_point t0 = SteadyClock::now();
  LoopState s = r.state;
  s.epoch = next_epoch;
  s.step_in_epoch = next_step;
  s.partial = partial;
  s.elapsed_s = r.elapsed();
  save_resume_checkpoint(r.config.checkpoint_dir, r.spec, r.config, *r.net, *r.optimizer, s,
                         r.schedule->gradboost_warmup_at(s.global_step));
  r.excluded_s += seconds_since(t0);
}

/// Puts the network and optimizer in the mode of `info`'s step; reports the switch to fake
/// quantization.
void enter_step_mode(Run& r, StepInfo& info) {
  QatMode want = r.schedule->mode_at(info.epoch, info.global_step);
  want.weights = r.net->weight_quant();  // the schedule does not know the net's scheme
  if (want == r.net->mode()) return;
  const bool switching = want.fake_quant && !r.net->mode().fake_quant;
  r.net->set_mode(want);
  set_gradboost_warmup(*r.optimizer, r.schedule->gradboost_warmup_at(info.global_step));
  if (!switching) return;
  r.state.qat_switch_step = info.global_step;
  info.qat_active = true;
  info.elapsed_s = r.elapsed();
  if (r.callbacks.on_qat_switch) r.callbacks.on_qat_switch(info);
}

/// The lr of step `global`: the schedule runs on the run's progress, by steps or, with a
/// time budget, by time when that is further along.
double lr_for_step(Run& r, int64_t global) {
  double progress = static_cast<double>(global) / static_cast<double>(r.total_steps);
  if (r.config.time_budget_s > 0)
    progress = std::max(progress, r.elapsed() / r.config.time_budget_s);
  return r.scheduler->set_step(std::min<int64_t>(
      kVirtualSteps, std::llround(progress * static_cast<double>(kVirtualSteps))));
}

std::string divergence_reason(const StepInfo& info, double loss) {
  char lr_text[32];
  std::snprintf(lr_text, sizeof lr_text, "%g", info.lr);
  return "non-finite loss (" + std::to_string(loss) + ") at epoch " + std::to_string(info.epoch) +
         " step " + std::to_string(info.step_in_epoch) + " (global step " +
         std::to_string(info.global_step) + ", lr " + lr_text + ")";
}

/// How a step ended the epoch's loop.
enum class StepEnd { kContinue, kStop };

/// Trains step `s` of `epoch` and reports it. Stops on divergence, an interrupt (after
/// checkpointing) or an exhausted time budget.
StepEnd run_step(Run& r, int64_t epoch, int64_t s, EpochSums& sums,
                 const std::function<double()>& epoch_seconds, TrainResult& result) {
  auto batch = r.loader->next();
  TORCH_CHECK(batch.has_value(), "train_model: loader ran out of batches at step ", s);
  StepInfo info;
  info.epoch = epoch;
  info.step_in_epoch = s;
  info.global_step = r.state.global_step;
  info.steps_per_epoch = r.steps_per_epoch;
  info.total_steps = r.total_steps;
  info.net = r.net.get();
  info.optimizer = r.optimizer.get();
  enter_step_mode(r, info);
  seed_step(r.config.seed, kStepStream, info.global_step);
  info.lr = lr_for_step(r, info.global_step);

  r.net->train();
  TrainStepOptions options;
  options.label_smoothing = r.config.label_smoothing;
  const StepOutcome out = train_step(
      *r.net, [&](const torch::Tensor& x) { return r.net->forward(x); }, *r.optimizer, *batch,
      options);
  if (!std::isfinite(out.loss)) {
    result.diverged = true;
    result.diverged_reason = divergence_reason(info, out.loss);
    return StepEnd::kStop;
  }
  const int64_t n = batch->y.size(0);
  const int64_t global = info.global_step;
  r.state.global_step = global + 1;
  r.state.images_seen += n;
  if (global % kLossCurveEvery == 0) r.state.loss_curve.emplace_back(global, out.loss);
  sums.loss_sum += out.loss;
  sums.correct += out.correct;
  sums.samples += n;
  sums.steps += 1;
  sums.seconds = epoch_seconds();

  info.loss = out.loss;
  info.epoch_loss = sums.loss_sum / static_cast<double>(sums.steps);
  info.epoch_acc = 100.0 * static_cast<double>(sums.correct) / static_cast<double>(sums.samples);
  info.qat_active = r.net->mode().fake_quant;
  info.elapsed_s = r.elapsed();
  bool interrupt = r.callbacks.on_step && r.callbacks.on_step(info);
  if (r.callbacks.stop_flag != nullptr && r.callbacks.stop_flag->load()) interrupt = true;
  if (interrupt) {
    result.interrupted = true;
    if (s + 1 == r.steps_per_epoch) {
      // The epoch is complete: record it, resume at the next one.
      r.state.epochs.push_back(epoch_info(epoch, sums, info.qat_active, info.lr));
      sums = EpochSums{};
      checkpoint(r, epoch + 1, 0, sums);
    } else {
      checkpoint(r, epoch, s + 1, sums);
    }
    return StepEnd::kStop;
  }
  if (r.config.time_budget_s > 0 && info.elapsed_s >= r.config.time_budget_s) {
    result.budget_exhausted = true;
    return StepEnd::kStop;
  }
  return StepEnd::kContinue;
}

/// Trains one epoch (the rest of it when resumed in its middle); returns whether training
/// stops.
bool run_epoch(Run& r, int64_t epoch, TrainResult& result) {
  const bool resumed_epoch = epoch == r.state.epoch && r.state.step_in_epoch > 0;
  const int64_t first = resumed_epoch ? r.state.step_in_epoch : 0;
  EpochSums sums = resumed_epoch ? r.state.partial : EpochSums{};
  const SteadyClock::time_point epoch_start = SteadyClock::now();
  const double epoch_base_s = sums.seconds;
  r.loader->start_epoch(epoch);
  for (int64_t i = 0; i < first; ++i) r.loader->next();
  if (r.callbacks.on_epoch_start) r.callbacks.on_epoch_start(epoch, first, r.steps_per_epoch);

  const auto epoch_seconds = [&] { return epoch_base_s + seconds_since(epoch_start); };
  bool stop = false;
  double lr = 0;
  for (int64_t s = first; s < r.steps_per_epoch && !stop; ++s) {
    stop = run_step(r, epoch, s, sums, epoch_seconds, result) == StepEnd::kStop;
    lr = r.optimizer->param_groups().front().options().get_lr();
  }
  if (sums.steps > 0) {
    const EpochInfo e = epoch_info(epoch, sums, r.net->mode().fake_quant, lr);
    r.state.epochs.push_back(e);
    if (r.callbacks.on_epoch_end) r.callbacks.on_epoch_end(e);
  }
  if (!stop && r.config.checkpoint_each_epoch && epoch + 1 < r.config.epochs)
    checkpoint(r, epoch + 1, 0, EpochSums{});
  return stop;
}

/// Copies the loop's figures into `result`.
void record_training(const Run& r, TrainResult& result) {
  result.train_seconds = r.elapsed();
  result.steps = r.state.global_step;
  result.steps_per_epoch = r.steps_per_epoch;
  result.images_seen = r.state.images_seen;
  result.images_per_second = result.train_seconds > 0
                                 ? static_cast<double>(r.state.images_seen) / result.train_seconds
                                 : 0;
  result.qat_switch_step = r.state.qat_switch_step;
  result.epochs = r.state.epochs;
  result.loss_curve = r.state.loss_curve;
  if (!result.epochs.empty()) result.final_train_loss = result.epochs.back().train_loss;
}

/// Post-training quantization of a network that never fake-quantized (--qat none, or a
/// budget or warm-up covering the whole run): BN folds with its running statistics and the
/// observers see un-augmented training batches.
void calibrate_observers(Run& r) {
  const TrainConfig& c = r.config;
  QatMode m = QatMode::qat();
  m.bn_frozen = true;
  m.fake_quant = c.calibration_fake_quant;
  r.net->set_mode(m);
  TransformOptions t = c.transform;
  t.pad(0).flip(false);
  DataLoader calib(r.splits.train, DataLoaderOptions()
                                       .batch_size(c.eval_batch_size)
                                       .shuffle(true)
                                       .seed(mix_seed(c.seed, kCalibStream))
                                       .prefetch(1)
                                       .device(r.device)
                                       .transform(t));
  torch::NoGradGuard no_grad;
  calib.start_epoch(0);
  for (int64_t i = 0; i < c.calibration_batches; ++i) {
    auto b = calib.next();
    if (!b) break;
    r.net->forward(b->x);
  }
}

/// Freezes the network, evaluates it in float and fake-quantized on val and test, converts
/// it to INT8 and evaluates that.
void evaluate_and_convert(Run& r, TrainResult& result) {
  const TrainConfig& c = r.config;
  r.net->eval();
  auto evaluate = [&](const ForwardFn& f, const ImageDataset& d) {
    return evaluate_accuracy(f, d, c.transform, c.eval_batch_size, r.device);
  };
  auto qat_forward = [&](const torch::Tensor& x) { return r.net->forward(x); };
  if (c.eval_fp32) {
    r.net->set_mode(QatMode::float_mode());
    result.val.fp32_acc = evaluate(qat_forward, r.splits.val);
    result.test.fp32_acc = evaluate(qat_forward, r.splits.test);
  }
  if (r.state.qat_switch_step < 0) calibrate_observers(r);
  QatMode frozen = QatMode::qat();
  frozen.observers = false;
  frozen.bn_frozen = true;
  r.net->set_mode(frozen);
  result.val.qat_acc = evaluate(qat_forward, r.splits.val);
  result.test.qat_acc = evaluate(qat_forward, r.splits.test);
  r.net->set_channels_last(false);
  if (c.eval_int8) {
    if (r.device != torch::kCPU) r.net->to(torch::kCPU);
    QEngineGuard guard(c.engine);
    result.int8 = std::make_shared<Int8Net>(convert_to_int8(*r.net));
    auto int8_forward = [&](const torch::Tensor& x) { return result.int8->forward(x.cpu()); };
    auto eval_cpu = [&](const ImageDataset& d) {
      return evaluate_accuracy(int8_forward, d, c.transform, c.eval_batch_size, torch::kCPU);
    };
    result.val.int8_acc = eval_cpu(r.splits.val);
    result.test.int8_acc = eval_cpu(r.splits.test);
    if (r.device != torch::kCPU) r.net->to(r.device);
  }
  result.val.samples = r.splits.val.size();
  result.test.samples = r.splits.test.size();
}

/// The reported accuracies: test when there is a test set, else val.
void pick_reported_split(TrainResult& result) {
  const SplitAccuracy* main = nullptr;
  if (result.test.samples > 0) {
    main = &result.test;
    result.eval_split = "test";
  } else if (result.val.samples > 0) {
    main = &result.val;
    result.eval_split = "val";
  }
  if (main != nullptr) {
    result.qat_acc = main->qat_acc;
    result.int8_acc = main->int8_acc;
    result.fp32_acc = main->fp32_acc;
  }
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
  check_inputs(spec, config, data);
  configure_runtime(config.threads);
  Run run(spec, config, callbacks, data);
  set_up(run, resume_dir);
  TrainResult result;
  result.net = run.net;
  for (int64_t epoch = run.state.epoch; epoch < config.epochs; ++epoch) {
    if (run_epoch(run, epoch, result)) break;
  }
  record_training(run, result);
  if (result.diverged || result.interrupted) {
    run.net->set_channels_last(false);
    run.net->eval();
    return result;
  }
  evaluate_and_convert(run, result);
  pick_reported_split(result);
  return result;
}

}  // namespace frostnas
