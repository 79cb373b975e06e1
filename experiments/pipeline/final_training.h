#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiments/pipeline/pipeline_config.h"
#include "search/driver/worker_protocol.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_net.h"
#include "trainer/train/train_model.h"

namespace frostnas {

/// A final model of the pipeline trained and saved, before its latency is measured.
struct SavedFinalModel {
  /// Test accuracies (percent) and training time; `failed` with the reason when training
  /// threw or diverged (then nothing is saved).
  Evaluation evaluation;
  bool interrupted = false;         ///< stopped by the callbacks' stop flag: not a result
  std::shared_ptr<Int8Net> int8;    ///< set once saved
  std::shared_ptr<FoldedNet> fp32;  ///< the BN-folded float network, set once saved
};

/// Trains `net` from scratch with `train` (its input transform adapted to the network),
/// scores it on the test split of `data`, converts it to INT8 and saves it into `dir`:
/// the int8/ artifact `frostnas eval` loads, the float checkpoint qat.pt, arch.json,
/// input.json and the deployment exports (TorchScript INT8 and float, QDQ ONNX).
/// InputError propagates; any other failure is reported in the evaluation.
SavedFinalModel train_final_model(const NetSpec& net, const DataSplits& data, TrainConfig train,
                                  const PipelineConfig& config, const TrainCallbacks& callbacks,
                                  const std::string& dir);

/// Every file below `dir`, paths relative to it ('/'-separated), in sorted order.
std::vector<FilePart> read_saved_files(const std::string& dir);
/// Writes `files` below `dir`, each through atomic_write; throws InputError naming
/// `source` for a path that is absolute or leaves `dir`.
void write_saved_files(const std::vector<FilePart>& files, const std::string& dir,
                       const std::string& source);

/// What rank 0 of a pipeline greets its workers with: the stored configuration, its
/// hash, the checksum of the search's and the retraining's data (test split included)
/// and the search's training configuration for the candidates.
WorkerGreeting pipeline_worker_greeting(const PipelineConfig& config);

/// A pipeline's worker process: trains the search stage's candidates (kJobEvaluate) on
/// the search's data, and the final models (kJobFinal) on the retraining data, saved
/// into a temporary folder exactly as run_pipeline saves them and sent back as files.
/// It never opens the store and never measures latency.
class PipelineWorkerJobs : public WorkerJobs {
 public:
  /// `config_path`: the --config this rank was started with (`quick`: with --quick;
  /// `weights`: with --weight-quant, see set_weight_quant); unset: rank 0's configuration
  /// from the greeting.
  PipelineWorkerJobs(std::optional<std::string> config_path, bool quick,
                     std::optional<WeightQuant> weights = std::nullopt)
      : config_path_(std::move(config_path)), quick_(quick), weights_(weights) {}
  ReadyMessage set_up(const HelloMessage& hello) override;
  ResultMessage perform(const TaskMessage& task) override;

 private:
  ResultMessage train_final(const TaskMessage& task) const;

  std::optional<std::string> config_path_;
  bool quick_ = false;
  std::optional<WeightQuant> weights_;
  std::optional<PipelineConfig> config_;
  DataSplits search_data_, retrain_data_;
};

}  // namespace frostnas
