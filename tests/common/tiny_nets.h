#pragma once

// The small networks the suites build, train and convert (one definition each), and the BN
// statistics they are given before a conversion is checked.

#include <torch/torch.h>

#include "space/net_spec.h"

namespace frostnas::testing {

/// 28x28x1, stem 16 stride 2, 10 classes, head 64: a depthwise block (EF 1), an MBConv
/// fallback (16 / RF 4 < 8, stride 2), a residual Frost block and a stride-2 Frost block.
/// The shape of Fashion-MNIST; one forward of batch 8 takes about a millisecond.
inline NetSpec tiny_net() {
  NetSpec s;
  s.name = "tiny";
  s.in_channels = 1;
  s.input_size = 28;
  s.num_classes = 10;
  s.stem = StemSpec{16, 3, 2};
  s.stages = {StageSpec{{BlockSpec{BlockType::kFrost, 3, 16, 1, 1, 1}}},
              StageSpec{{BlockSpec{BlockType::kFrost, 5, 24, 3, 4, 2},
                         BlockSpec{BlockType::kFrost, 3, 24, 3, 2, 1}}},
              StageSpec{{BlockSpec{BlockType::kFrost, 5, 32, 3, 2, 2}}}};
  s.head = HeadSpec{64};
  s.dropout = 0.2;
  return s;
}

/// 16x16x1, stem 8 stride 2, 4 classes, head 32: a depthwise block, an MBConv fallback
/// (stride 2) and a residual Frost block. A training step of batch 32 takes a few ms.
inline NetSpec tiny_train_net() {
  NetSpec s;
  s.name = "tiny-train";
  s.in_channels = 1;
  s.input_size = 16;
  s.num_classes = 4;
  s.stem = StemSpec{8, 3, 2};
  s.stages = {StageSpec{{BlockSpec{BlockType::kFrost, 3, 8, 1, 1, 1}}},
              StageSpec{{BlockSpec{BlockType::kFrost, 3, 16, 3, 4, 2},
                         BlockSpec{BlockType::kFrost, 3, 16, 3, 2, 1}}}};
  s.head = HeadSpec{32};
  s.dropout = 0.1;
  return s;
}

/// Random but plausible BN statistics and affine parameters.
inline void perturb_bn(torch::nn::Module& m, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : m.named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos) item.value().uniform_(-0.3, 0.3);
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 2.0);
  }
  for (auto& item : m.named_parameters()) {
    if (item.key().find("bn.weight") != std::string::npos) item.value().uniform_(0.5, 1.5);
    if (item.key().find("bn.bias") != std::string::npos) item.value().uniform_(-0.2, 0.2);
  }
}

}  // namespace frostnas::testing
