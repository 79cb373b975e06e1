#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "tests/trainer/data/test_files.h"
#include "trainer/data/data_loader.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/splits.h"
#include "trainer/data/synthetic.h"

namespace frostnas {
namespace {

using test::input_error;

// N samples whose single pixel is their index (mod 256) and whose labels follow `label_of`.
ImageDataset indexed(int64_t n, int64_t classes, const std::function<int64_t(int64_t)>& label_of) {
  ImageDataset data;
  data.images = torch::arange(n).remainder(256).to(torch::kUInt8).view({n, 1, 1, 1});
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(label_of(i));
  data.labels = torch::tensor(labels, torch::kInt64);
  data.num_classes = classes;
  data.mean = {0.5f};
  data.std = {0.25f};
  data.name = "indexed";
  return data;
}

std::vector<int64_t> pixels(const ImageDataset& data) {
  const torch::Tensor p = data.images.flatten().to(torch::kInt64).contiguous();
  return {p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel()};
}

TEST(ChannelStats, MatchesHandComputedValues) {
  // Channel 0: 0, 255, 255, 0 -> mean 0.5, std 0.5; channel 1: all 51 -> mean 0.2, std 0.
  const torch::Tensor images =
      torch::tensor({0, 255, 51, 51, 255, 0, 51, 51}, torch::kUInt8).view({2, 2, 1, 2});
  const ChannelStats stats = channel_stats(images);
  ASSERT_EQ(stats.mean.size(), 2u);
  EXPECT_NEAR(stats.mean[0], 0.5, 1e-6);
  EXPECT_NEAR(stats.std[0], 0.5, 1e-6);
  EXPECT_NEAR(stats.mean[1], 0.2, 1e-6);
  EXPECT_NEAR(stats.std[1], 0.0, 1e-3);
}

struct TrainValSplit {
  ImageDataset train;
  ImageDataset val;
};

// The samples of `data` that split_indices puts in each part.
TrainValSplit parts(const ImageDataset& data, int64_t train_subset, int64_t val_size,
                    uint64_t seed) {
  const SplitIndices idx = split_indices(data, train_subset, val_size, seed);
  return {select_samples(data, idx.train), select_samples(data, idx.val)};
}

TEST(Split, SizesDisjointStratifiedAndOrdered) {
  const ImageDataset data = indexed(100, 4, [](int64_t i) { return i % 4; });
  const TrainValSplit split = parts(data, 0, 20, 7);
  ASSERT_EQ(split.train.size(), 80);
  ASSERT_EQ(split.val.size(), 20);
  EXPECT_TRUE(torch::bincount(split.val.labels).equal(torch::full({4}, 5, torch::kInt64)));
  const std::vector<int64_t> train = pixels(split.train), val = pixels(split.val);
  EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
  EXPECT_TRUE(std::is_sorted(val.begin(), val.end()));
  std::set<int64_t> all(train.begin(), train.end());
  all.insert(val.begin(), val.end());
  EXPECT_EQ(all.size(), 100u);        // disjoint and complete
  for (int64_t i = 0; i < 20; ++i) {  // labels travel with their images
    EXPECT_EQ(split.val.labels[i].item<int64_t>(), val[i] % 4);
  }
  EXPECT_EQ(split.val.mean, data.mean);
}

TEST(Split, DeterministicPerSeed) {
  const ImageDataset data = indexed(100, 4, [](int64_t i) { return i % 4; });
  EXPECT_EQ(split_indices(data, 0, 20, 7).val, split_indices(data, 0, 20, 7).val);
  EXPECT_NE(split_indices(data, 0, 20, 7).val, split_indices(data, 0, 20, 8).val);
}

TEST(Split, ImbalancedClassesKeepTheirProportions) {
  // 60 / 30 / 10 samples of classes 0 / 1 / 2.
  const ImageDataset data = indexed(100, 3, [](int64_t i) { return i < 60 ? 0 : i < 90 ? 1 : 2; });
  const TrainValSplit split = parts(data, 0, 10, 3);
  EXPECT_TRUE(torch::bincount(split.val.labels).equal(torch::tensor({6, 3, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::bincount(split.train.labels).equal(torch::tensor({54, 27, 9}, torch::kInt64)));
}

TEST(Split, BadCountsAreInputErrors) {
  const ImageDataset data = indexed(10, 2, [](int64_t i) { return i % 2; });
  EXPECT_EQ(input_error([&] { split_indices(data, 0, 10, 0, "cfg.json: $.data"); }),
            "cfg.json: $.data: val_size 10 does not fit the 10 images of indexed (allowed: -1 = "
            "min(5000, N/10), or 0..9)");
  EXPECT_EQ(input_error([&] { split_indices(data, 0, -2, 0); }),
            "data: val_size -2 does not fit the 10 images of indexed (allowed: -1 = min(5000, "
            "N/10), or 0..9)");
  EXPECT_EQ(input_error([&] { split_indices(data, 9, 2, 0); }),
            "data: train_subset 9 exceeds the 8 images of indexed left after val_size (allowed: 0 "
            "= all of them, or 1..8)");
}

TEST(Split, SubsetIsSeededStratifiedAndIndependentOfTheValidationImages) {
  const ImageDataset data = indexed(200, 4, [](int64_t i) { return (i / 3) % 4; });
  const TrainValSplit sub = parts(data, 40, 0, 5);
  ASSERT_EQ(sub.train.size(), 40);
  EXPECT_EQ(sub.val.size(), 0);
  EXPECT_TRUE(torch::bincount(sub.train.labels).equal(torch::full({4}, 10, torch::kInt64)));
  EXPECT_EQ(pixels(sub.train), pixels(parts(data, 40, 0, 5).train));
  const std::vector<int64_t> p = pixels(sub.train);
  EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
  // The validation images do not depend on train_subset; the training images are a prefix.
  const SplitIndices small = split_indices(data, 20, 40, 5), large = split_indices(data, 0, 40, 5);
  EXPECT_EQ(small.val, large.val);
  EXPECT_EQ(large.train.size(), 160u);
  for (const int64_t i : small.train) {
    EXPECT_TRUE(std::binary_search(large.train.begin(), large.train.end(), i)) << i;
  }
  EXPECT_EQ(split_indices(data, 0, kAutoValSize, 5).val.size(), 20u);  // min(5000, N/10)
}

TEST(Split, DigestsTellIndexListsApart) {
  EXPECT_EQ(index_digest({1, 2, 3}), index_digest({1, 2, 3}));
  EXPECT_NE(index_digest({1, 2, 3}), index_digest({1, 2, 4}));
  EXPECT_NE(index_digest({1, 2, 3}), index_digest({1, 2}));
  EXPECT_EQ(index_digest({}).size(), 16u);
}

TEST(Synthetic, SeededBalancedAndShaped) {
  const auto options = SyntheticOptions().count(60).classes(3).channels(3).size(8).seed(4);
  const ImageDataset a = make_synthetic(options);
  ASSERT_EQ(a.images.sizes(), (std::vector<int64_t>{60, 3, 8, 8}));
  EXPECT_EQ(a.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::bincount(a.labels).equal(torch::full({3}, 20, torch::kInt64)));
  EXPECT_EQ(a.mean.size(), 3u);
  EXPECT_EQ(a.mean, channel_stats(a.images).mean);
  EXPECT_TRUE(a.images.equal(make_synthetic(options).images));
  EXPECT_FALSE(a.images.equal(make_synthetic(SyntheticOptions(options).seed(5)).images));
  EXPECT_FALSE(a.images.equal(make_synthetic(SyntheticOptions(options).sample_seed(2)).images));
  EXPECT_EQ(input_error([] { make_synthetic(SyntheticOptions().classes(1)); }),
            "synthetic: classes 1 out of range (allowed >= 2)");
}

TEST(Synthetic, LinearModelLearnsIt) {
  torch::manual_seed(0);
  const auto options = SyntheticOptions().count(512).classes(4).size(12).noise(0.4);
  const ImageDataset train = make_synthetic(options);
  const ImageDataset test = make_synthetic(SyntheticOptions(options).count(256).sample_seed(9));
  torch::nn::Linear model(144, 4);
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.05));
  DataLoader loader(train, DataLoaderOptions().batch_size(32).seed(1));
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) {
      sgd.zero_grad();
      torch::nn::functional::cross_entropy(model(batch->x.flatten(1)), batch->y).backward();
      sgd.step();
    }
  }
  // Test images normalised with the training statistics, as a trainer would.
  DataLoader eval(
      ImageDataset{test.images, test.labels, 4, train.mean, train.std, "test", {}, {}, false},
      DataLoaderOptions().batch_size(256).shuffle(false));
  eval.start_epoch(0);
  const Batch batch = *eval.next();
  const double accuracy =
      model(batch.x.flatten(1)).argmax(1).eq(batch.y).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(accuracy, 0.9);  // chance is 0.25
}

}  // namespace
}  // namespace frostnas
