#pragma once

#include <atomic>
#include <limits>
#include <memory>
#include <string>

#include "space/net_spec.h"
#include "trainer/train/train_config.h"
#include "trainer/train/train_model.h"

namespace frostnas {

/// What evaluating one architecture produced. Accuracies are percentages, NaN
/// where not computed; `failed` with `error` when training diverged or threw.
struct Evaluation {
  double fp32_acc = std::numeric_limits<double>::quiet_NaN();
  double qat_acc = std::numeric_limits<double>::quiet_NaN();
  double int8_acc = std::numeric_limits<double>::quiet_NaN();
  double train_seconds = 0.0;
  bool failed = false;
  bool interrupted = false;  ///< stopped by a stop request: not a result
  std::string error;
};

/// Which accuracy is the search's ACC.
enum class AccuracyMetric { kInt8, kQat, kFp32 };
std::string to_string(AccuracyMetric metric);
/// "int8", "qat", "fp32"; throws InputError naming `field` and the allowed values.
AccuracyMetric parse_accuracy_metric(const std::string& name, const std::string& field);
/// The metric's accuracy of an evaluation (NaN when missing).
double accuracy_of(const Evaluation& e, AccuracyMetric metric);

/// Scores architectures. Strategies never train: the driver hands what they
/// propose to an Evaluator.
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  /// Evaluates `net`; `seed` makes the evaluation reproducible. Never throws for
  /// a failing candidate: it reports `failed` instead.
  virtual Evaluation evaluate(const NetSpec& net, uint64_t seed) = 0;
};

/// Trains each candidate with the trainer (StatAssist + GradBoost by default) on
/// the training split for a fixed short budget, converts it to INT8 and scores it
/// on the held-out validation split.
class TrainingEvaluator : public Evaluator {
 public:
  /// `data.test` is ignored: searches never look at the test set.
  TrainingEvaluator(DataSplits data, TrainConfig config, const std::atomic<bool>* stop = nullptr);
  Evaluation evaluate(const NetSpec& net, uint64_t seed) override;

 private:
  DataSplits data_;
  TrainConfig config_;
  const std::atomic<bool>* stop_;
};

}  // namespace frostnas
