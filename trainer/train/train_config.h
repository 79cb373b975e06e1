#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "trainer/data/transforms.h"
#include "trainer/optim/optimizer_factory.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// How quantization enters training.
/// - kStatAssist: `fp_warmup_epochs` in full precision with the optimizer in warm-up mode,
///   then fake quantization on the same weights and optimizer state (docs/frostnet.md,
///   "StatAssist");
/// - kPlain: fake quantization from the first step, optimizer out of warm-up from the start;
/// - kNone: float training, then post-training quantization (calibration batches).
enum class QatScheme { kStatAssist, kPlain, kNone };

std::string to_string(QatScheme scheme);
/// Allowed names: "statassist", "plain", "none".
std::vector<std::string> qat_scheme_names();
/// Throws InputError "<field>: unknown value 'x' (allowed: statassist, plain, none)".
QatScheme parse_qat_scheme(const std::string& name, const std::string& field = "qat");

/// Everything train_model needs besides the architecture and the data.
struct TrainConfig {
  int64_t epochs = 1;
  int64_t batch_size = 64;
  /// Optimizer and its hyper-parameters (name qsgd by default: GradBoost SGD).
  OptimizerConfig optimizer;
  /// LR schedule over the whole run: one of schedule_names() (constant, cosine, step).
  std::string schedule = "cosine";
  /// Linear LR warm-up, in epochs (may be fractional).
  double lr_warmup_epochs = 0.0;
  /// Weight-decay scale of BN/bias parameters (official script: 0.01); depthwise: none.
  double other_weight_decay_scale = 0.01;
  /// Label smoothing of the cross-entropy loss.
  double label_smoothing = 0.0;

  QatScheme qat = QatScheme::kStatAssist;
  /// StatAssist: full-precision epochs before fake quantization (fractional: switch at
  /// step round(fp_warmup_epochs * steps_per_epoch)).
  double fp_warmup_epochs = 1.0;
  /// Epoch (0-based) from whose start the activation observers are frozen; -1: never
  /// during training (they are frozen before evaluation and conversion anyway).
  int64_t freeze_observers_epoch = -1;
  /// Epoch (0-based) from whose start BN uses and keeps its running statistics; -1: never.
  int64_t freeze_bn_epoch = -1;
  /// kNone: number of training batches (no augmentation) the observers see.
  int64_t calibration_batches = 16;
  /// kNone: fake quantization on during calibration (off: observers see float activations).
  bool calibration_fake_quant = false;

  QuantEngine engine = QuantEngine::kOneDNN;
  /// How weights are quantized, in QAT and in the INT8 model: per channel (default) or per
  /// tensor (the paper's QNNPACK configuration). Stored in JSON only when per_tensor.
  WeightQuant weight_quant = WeightQuant::kPerChannel;
  /// Augmentation and input adaptation of training batches (normalize, size and channels
  /// are shared with evaluation; pad and flip apply to training only).
  TransformOptions transform;
  int64_t eval_batch_size = 256;

  /// Stop training once this many seconds of training have passed (0: no budget). The LR
  /// schedule then runs on the fraction max(step / total_steps, elapsed / budget), so that
  /// it reaches its end when the budget does.
  double time_budget_s = 0.0;
  /// torch::set_num_threads (and OpenBLAS's count when available); 0 leaves them.
  int64_t threads = 0;
  /// Seeds weight init, shuffling, augmentation, dropout and GradBoost noise.
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;

  /// Train and evaluate with the Conv-BN layers in channels-last (NHWC) memory format on the
  /// CPU, where oneDNN's convolutions run several times faster than in NCHW (docs/results.md,
  /// "Trainer against PyTorch"). The trained network is handed back in NCHW mode either way.
  bool channels_last = true;

  /// Which accuracies to compute at the end.
  bool eval_int8 = true;
  bool eval_fp32 = true;

  /// Directory for the resume checkpoint (written on interruption and, if
  /// `checkpoint_each_epoch`, after every epoch); empty: none.
  std::string checkpoint_dir;
  bool checkpoint_each_epoch = true;
};

class ConfigFields;
/// The JSON fields of the configurations (common/config_fields.h); their ranges are checked
/// by validate().
void config_fields(ConfigFields& f, OptimizerConfig& o);
void config_fields(ConfigFields& f, TrainConfig& c);

/// A TrainConfig field `key` of an enclosing config (search, retraining): when present, read
/// over the defaults (not over `train`'s values), then checked with validate() under its JSON path
/// (`FILE: $.train`) whether present or not.
void validated_train_field(ConfigFields& f, const char* key, TrainConfig& train);

/// Throws InputError for a value out of range, naming the field by its JSON path under
/// `json_prefix` (for example `search.json: $.train`) or, when the prefix is empty, by its
/// command-line flag.
void validate(const TrainConfig& config, const std::string& json_prefix = "");

/// The configuration as JSON (every field, optimizer included).
nlohmann::json to_json(const TrainConfig& config);
/// Reads a training configuration: absent fields keep their defaults; unknown keys, at any
/// depth, and values of the wrong type are refused with InputError naming file and JSON path.
TrainConfig train_config_from_json(const JsonReader& r);
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& source);

/// The optimizer a scheme uses when none is given: qsgd for statassist, sgd otherwise.
std::string default_optimizer(QatScheme scheme);

}  // namespace frostnas
