#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "trainer/data/image_dataset.h"
#include "trainer/data/transforms.h"
#include "trainer/int8/int8_net.h"

namespace frostnas {

/// A model as a function: float input [N, C, H, W] -> logits [N, classes].
using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// Top-1 accuracy in percent of `forward` over all of `data` (in order, no augmentation:
/// pad and flip of `transform` are ignored), with batches of `batch_size` on `device`.
/// Runs under NoGradGuard. Returns NaN for an empty data set.
double evaluate_accuracy(const ForwardFn& forward, const ImageDataset& data,
                         TransformOptions transform, int64_t batch_size,
                         torch::Device device = torch::kCPU);

/// Batch-1 latency of an INT8 network, in milliseconds.
struct LatencyStats {
  double median_ms = 0;
  double min_ms = 0;
  double mean_ms = 0;
  int64_t runs = 0;
};

/// Times `runs` calls of `net.forward(x)` after `warmup` untimed ones (x: [1, C, H, W]),
/// under the network's engine.
LatencyStats measure_int8_latency(const Int8Net& net, const torch::Tensor& x, int64_t runs,
                                  int64_t warmup = 10);

/// Times an arbitrary forward the same way.
LatencyStats measure_latency(const ForwardFn& forward, const torch::Tensor& x, int64_t runs,
                             int64_t warmup = 10);

}  // namespace frostnas
