#include "trainer/data/synthetic.h"

#include <numeric>
#include <random>

#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"
#include "common/random.h"

namespace frostnas {

ImageDataset make_synthetic(const SyntheticOptions& o) {
  auto check = [](const char* field, int64_t value, int64_t lo) {
    if (value < lo) {
      throw InputError(std::string("synthetic: ") + field + " " + std::to_string(value) +
                       " out of range (allowed >= " + std::to_string(lo) + ")");
    }
  };
  check("count", o.count(), 1);
  check("classes", o.classes(), 2);
  check("channels", o.channels(), 1);
  check("size", o.size(), 2);
  if (!(o.noise() >= 0.0)) {
    throw InputError("synthetic: noise " + std::to_string(o.noise()) +
                     " out of range (allowed >= 0)");
  }
  // Templates are drawn on a coarse grid and upsampled: smooth patterns survive
  // small shifts (pad-crop) and resizing, as object shapes do.
  const int64_t coarse = std::max<int64_t>(2, (o.size() + 3) / 4);
  torch::Generator template_gen = at::make_generator<at::CPUGeneratorImpl>(o.seed());
  torch::Tensor templates =
      torch::rand({o.classes(), o.channels(), coarse, coarse}, template_gen, torch::kFloat);
  templates = torch::nn::functional::interpolate(templates,
                                                 torch::nn::functional::InterpolateFuncOptions()
                                                     .size(std::vector<int64_t>{o.size(), o.size()})
                                                     .mode(torch::kBilinear)
                                                     .align_corners(false));

  std::vector<int64_t> labels(o.count());
  for (int64_t i = 0; i < o.count(); ++i) labels[i] = i % o.classes();
  std::mt19937_64 rng(mix_seed(o.sample_seed(), 0));
  seeded_shuffle(labels, rng);
  torch::Generator noise_gen =
      at::make_generator<at::CPUGeneratorImpl>(mix_seed(o.sample_seed(), 1));
  const torch::Tensor label_tensor = torch::tensor(labels, torch::kInt64);
  torch::Tensor images = templates.index_select(0, label_tensor);
  images.add_(torch::randn(images.sizes(), noise_gen, torch::kFloat), o.noise());

  ImageDataset data;
  data.images = images.clamp_(0, 1).mul_(255).round_().to(torch::kUInt8);
  data.labels = label_tensor;
  data.num_classes = o.classes();
  data.name = "synthetic";
  ChannelStats stats = channel_stats(data.images);
  data.mean = stats.mean;
  data.std = stats.std;
  return data;
}

}  // namespace frostnas
