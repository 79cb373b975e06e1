#pragma once

#include <string>

#include "trainer/quant/qat_net.h"

namespace frostnas {

/// The "format" field of a QAT checkpoint.
constexpr const char* kQatCheckpointFormat = "frostnas.qat/1";

/// Writes a self-describing float checkpoint of `net` to `path` (atomically): the
/// architecture JSON, the engine, the weight scheme ("weight_quant": per_channel or
/// per_tensor; checkpoints without it load as per_channel), the QatMode and every parameter and
/// buffer by name (BN statistics and observer min/max/scale/zero point included), as one
/// torch::pickle_save dictionary. Tensors are stored on the CPU.
void save_qat_checkpoint(QatNetImpl& net, const std::string& path);

/// Builds the QatNet described by a checkpoint and loads its state and mode.
/// Throws InputError naming the file and the field on a missing, corrupt or
/// mismatching checkpoint.
QatNet load_qat_checkpoint(const std::string& path, torch::Device device = torch::kCPU);

/// Loads a checkpoint into an existing network of the same architecture (state and mode).
void load_qat_checkpoint_into(const std::string& path, QatNetImpl& net);

}  // namespace frostnas
