#pragma once

// The resume checkpoint of train_model: where the loop stands and everything a resumed run
// needs to continue as the uninterrupted one would. Internal to trainer/train.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "space/net_spec.h"
#include "trainer/quant/qat_net.h"
#include "trainer/train/train_config.h"
#include "trainer/train/train_model.h"

namespace frostnas {

/// Running sums of an epoch (kept in the resume state for an epoch cut in the middle).
struct EpochSums {
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t samples = 0;
  int64_t steps = 0;
  double seconds = 0;
};

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

/// The summary of an epoch from its running sums.
EpochInfo epoch_info(int64_t epoch, const EpochSums& sums, bool qat_active, double lr);

/// Writes model-<step>.pt, optimizer-<step>.pt, then state.json naming them (renamed
/// into place last, so a crash leaves the previous complete checkpoint), then removes
/// the files of older checkpoints.
void save_resume_checkpoint(const std::string& dir, const NetSpec& spec, const TrainConfig& config,
                            QatNetImpl& net, torch::optim::Optimizer& optimizer, const LoopState& s,
                            bool gradboost_warmup);

/// Loads the checkpoint in `dir` into `net` and `optimizer` and returns its loop state.
/// Throws InputError when it is missing, unreadable, or of another architecture or of a
/// configuration that differs in a field that shapes training.
LoopState load_resume_checkpoint(const std::string& dir, const NetSpec& spec,
                                 const TrainConfig& config, QatNetImpl& net,
                                 torch::optim::Optimizer& optimizer);

}  // namespace frostnas
