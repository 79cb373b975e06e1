#include "trainer/train/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "trainer/data/data_loader.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

double evaluate_accuracy(const ForwardFn& forward, const ImageDataset& data,
                         TransformOptions transform, int64_t batch_size, torch::Device device) {
  if (data.size() == 0) return std::numeric_limits<double>::quiet_NaN();
  transform = without_augmentation(transform);
  DataLoader loader(data, DataLoaderOptions()
                              .batch_size(batch_size)
                              .shuffle(false)
                              .drop_last(false)
                              .prefetch(1)
                              .device(device)
                              .transform(transform));
  torch::NoGradGuard no_grad;
  loader.start_epoch(0);
  int64_t correct = 0;
  int64_t seen = 0;
  while (auto batch = loader.next()) {
    const auto logits = forward(batch->x);
    correct += logits.argmax(1).eq(batch->y).sum().item<int64_t>();
    seen += batch->y.size(0);
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
}

LatencyStats measure_latency(const ForwardFn& forward, const torch::Tensor& x, int64_t runs,
                             int64_t warmup) {
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < warmup; ++i) forward(x);
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(std::max<int64_t>(runs, 1)));
  for (int64_t i = 0; i < std::max<int64_t>(runs, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    forward(x);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  LatencyStats s;
  s.runs = static_cast<int64_t>(ms.size());
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  std::sort(ms.begin(), ms.end());
  s.min_ms = ms.front();
  const size_t n = ms.size();
  s.median_ms = n % 2 == 1 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return s;
}

LatencyStats measure_int8_latency(const Int8Net& net, const torch::Tensor& x, int64_t runs,
                                  int64_t warmup) {
  QEngineGuard guard(net.engine());
  return measure_latency([&](const torch::Tensor& in) { return net.forward(in); }, x, runs, warmup);
}

}  // namespace frostnas
