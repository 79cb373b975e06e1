#include "trainer/data/image_dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>

#include "common/error.h"
#include "common/random.h"

namespace frostnas {

ChannelStats channel_stats(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
              "channel_stats: expected uint8 [N, C, H, W] images, got ", images.sizes());
  const torch::Tensor x = images.contiguous();
  const int64_t n = x.size(0), c = x.size(1), plane = x.size(2) * x.size(3);
  std::vector<std::array<int64_t, 256>> hist(c);
  for (auto& h : hist) h.fill(0);
  const uint8_t* p = x.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch, p += plane) {
      auto& h = hist[ch];
      for (int64_t k = 0; k < plane; ++k) ++h[p[k]];
    }
  }
  ChannelStats stats;
  const double count = static_cast<double>(n * plane);
  for (const auto& h : hist) {
    double sum = 0, sum_sq = 0;
    for (int v = 0; v < 256; ++v) {
      sum += static_cast<double>(h[v]) * v;
      sum_sq += static_cast<double>(h[v]) * v * v;
    }
    const double mean = count > 0 ? sum / count / 255.0 : 0.0;
    const double var = count > 0 ? sum_sq / count / (255.0 * 255.0) - mean * mean : 0.0;
    stats.mean.push_back(static_cast<float>(mean));
    stats.std.push_back(static_cast<float>(std::sqrt(std::max(var, 0.0))));
  }
  return stats;
}

ImageDataset select_samples(const ImageDataset& data, const std::vector<int64_t>& indices) {
  const torch::Tensor index = torch::tensor(indices, torch::kInt64);
  ImageDataset out = data;
  out.labels = data.labels.index_select(0, index.to(data.labels.device()));
  if (data.mapped) {
    out.rows = torch::tensor(image_rows(data, indices), torch::kInt64);
  } else {
    out.images = data.images.index_select(0, index.to(data.images.device()));
  }
  return out;
}

std::vector<int64_t> image_rows(const ImageDataset& data, const std::vector<int64_t>& samples) {
  if (!data.rows.defined()) return samples;
  const torch::Tensor rows = data.rows.to(torch::kCPU).contiguous();
  const int64_t* r = rows.data_ptr<int64_t>();
  std::vector<int64_t> out(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    TORCH_CHECK(samples[i] >= 0 && samples[i] < rows.size(0), "image_rows: sample ", samples[i],
                " out of range for ", rows.size(0), " samples");
    out[i] = r[samples[i]];
  }
  return out;
}

torch::Tensor sample_images(const ImageDataset& data, const std::vector<int64_t>& samples) {
  const torch::Tensor index = torch::tensor(image_rows(data, samples), torch::kInt64);
  return data.images.index_select(0, index.to(data.images.device()));
}

std::vector<int64_t> stratified_order(const ImageDataset& data, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const torch::Tensor labels = data.labels.to(torch::kCPU).contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  std::vector<std::vector<int64_t>> by_class(std::max<int64_t>(data.num_classes, 1));
  for (int64_t i = 0; i < labels.numel(); ++i) by_class.at(label[i]).push_back(i);
  std::vector<int64_t> class_rank(by_class.size());
  std::iota(class_rank.begin(), class_rank.end(), 0);
  seeded_shuffle(class_rank, rng);
  // Sample j of a class of n lands at quantile (j + 0.5) / n, so any prefix of the
  // merged order holds each class in proportion; equal quantiles tie-break by a
  // seeded class rank rather than by class id.
  std::vector<std::tuple<double, int64_t, int64_t>> keyed;
  keyed.reserve(labels.numel());
  for (size_t c = 0; c < by_class.size(); ++c) {
    auto& members = by_class[c];
    seeded_shuffle(members, rng);
    for (size_t j = 0; j < members.size(); ++j) {
      keyed.emplace_back((j + 0.5) / members.size(), class_rank[c], members[j]);
    }
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> order;
  order.reserve(keyed.size());
  for (const auto& k : keyed) order.push_back(std::get<2>(k));
  return order;
}

}  // namespace frostnas
