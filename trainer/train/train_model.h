#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/threads.h"
#include "space/net_spec.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/splits.h"
#include "trainer/int8/int8_net.h"
#include "trainer/quant/qat_net.h"
#include "trainer/train/train_config.h"

namespace frostnas {

/// Accuracies (top-1, percent) of one split; NaN where not computed.
struct SplitAccuracy {
  double qat_acc;   ///< fake-quantized network (eval mode, BN and observers frozen)
  double int8_acc;  ///< real INT8 network from convert_to_int8
  double fp32_acc;  ///< the same weights in float mode (BN running statistics)
  int64_t samples = 0;
  SplitAccuracy();
};

/// Where training stands, given to the callbacks. `net` and `optimizer` are the live
/// objects (for tests and monitoring; do not keep the pointers).
struct StepInfo {
  int64_t epoch = 0;          ///< 0-based
  int64_t step_in_epoch = 0;  ///< 0-based index of the batch just trained (or about to be)
  int64_t global_step = 0;    ///< optimizer steps done before this one
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  double loss = 0;        ///< of this step
  double epoch_loss = 0;  ///< mean over the epoch's steps so far
  double epoch_acc = 0;   ///< percent, over the epoch's (augmented) training batches so far
  double lr = 0;
  bool qat_active = false;
  double elapsed_s = 0;  ///< training seconds so far (resumed runs included)
  QatNetImpl* net = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
};

/// Summary of one finished (or cut short) epoch.
struct EpochInfo {
  int64_t epoch = 0;
  int64_t steps = 0;
  double train_loss = 0;  ///< mean over the epoch's steps
  double train_acc = 0;   ///< percent, on the augmented training batches
  double seconds = 0;
  double images_per_second = 0;
  bool qat_active = false;  ///< at the end of the epoch
  double lr = 0;            ///< at the last step
};

/// Hooks into the loop. All are optional.
struct TrainCallbacks {
  /// After every optimizer step; returning true interrupts training as SIGINT does: a
  /// resume checkpoint is written (when TrainConfig::checkpoint_dir is set) and
  /// train_model returns with `interrupted`.
  std::function<bool(const StepInfo&)> on_step;
  /// Right after the StatAssist switch to fake quantization, before that step runs.
  std::function<void(const StepInfo&)> on_qat_switch;
  /// Before the first step of an epoch: `first_step` > 0 when a resumed run continues the
  /// epoch in its middle.
  std::function<void(int64_t epoch, int64_t first_step, int64_t steps_per_epoch)> on_epoch_start;
  std::function<void(const EpochInfo&)> on_epoch_end;
  /// Polled after every step (a SIGINT handler sets it); true interrupts like on_step.
  const std::atomic<bool>* stop_flag = nullptr;
};

/// What a run produced.
struct TrainResult {
  SplitAccuracy val;
  SplitAccuracy test;
  /// The accuracies of the reported split: test when DataSplits::test is given, else val.
  double qat_acc;
  double int8_acc;
  double fp32_acc;
  std::string eval_split;  ///< "test", "val" or "" (nothing evaluated)

  double final_train_loss;  ///< mean loss of the last epoch trained
  std::vector<EpochInfo> epochs;
  /// (global step, loss) of every kLossCurveEvery-th step, resumed runs included.
  std::vector<std::pair<int64_t, double>> loss_curve;
  int64_t steps = 0;  ///< optimizer steps done in total
  int64_t steps_per_epoch = 0;
  int64_t qat_switch_step = -1;  ///< global step from which fake quantization ran (-1: never)
  double train_seconds = 0;      ///< training loop only (no evaluation), resumed runs included
  double images_per_second = 0;  ///< training images per training second
  int64_t images_seen = 0;

  bool diverged = false;  ///< a non-finite loss: no accuracies, no INT8 model
  std::string diverged_reason;
  bool interrupted = false;       ///< stopped by a callback or the stop flag
  bool budget_exhausted = false;  ///< stopped by TrainConfig::time_budget_s

  /// The trained network (eval mode, observers and BN frozen); null if diverged early.
  QatNet net{nullptr};
  /// The INT8 network (when eval_int8 and not diverged or interrupted).
  std::shared_ptr<Int8Net> int8;

  TrainResult();
};

/// Trains `spec` (whose in_channels, input size and classes must match the data after
/// `config.transform`; see adapt_spec_to_data) on `data.train` as `config.qat` says, then
/// freezes, converts to INT8 and evaluates val and test. Never throws on divergence: a
/// non-finite loss stops training and sets `diverged`. With `resume_dir` set, continues the
/// run checkpointed there (same spec and config; see TrainConfig::checkpoint_dir): with the
/// same seed the result equals that of an uninterrupted run (no time budget). Throws
/// InputError on bad config values, a data/spec mismatch or an unusable checkpoint.
TrainResult train_model(const NetSpec& spec, const TrainConfig& config, const DataSplits& data,
                        const TrainCallbacks& callbacks = {}, const std::string& resume_dir = "");

/// The architecture adapted to a data set: in_channels and num_classes from the data,
/// input_size from `input_size` when > 0 else the data's image size. Validates the result.
NetSpec adapt_spec_to_data(NetSpec spec, const ImageDataset& data, int64_t input_size = 0);

/// The TransformOptions that feed `data` to `spec`: resize when the sizes differ and
/// replicate a single channel when spec.in_channels > 1; `base` gives pad/flip/normalize.
TransformOptions input_transform_for(const NetSpec& spec, const ImageDataset& data,
                                     TransformOptions base = {});

/// TrainResult::loss_curve keeps the loss of every this-many-th step.
constexpr int64_t kLossCurveEvery = 10;

/// The file names of a resume checkpoint directory.
constexpr const char* kResumeStateFile = "state.json";
constexpr const char* kResumeModelFile = "model.pt";
constexpr const char* kResumeOptimizerFile = "optimizer.pt";

/// Whether `dir` holds a resume checkpoint (its state.json).
bool has_resume_checkpoint(const std::string& dir);

}  // namespace frostnas
