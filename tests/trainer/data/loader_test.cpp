#include <chrono>
#include <iostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "tests/trainer/data/test_files.h"
#include "trainer/data/data_loader.h"
#include "trainer/data/fashion_mnist.h"
#include "trainer/data/synthetic.h"
#include "trainer/data/transforms.h"

namespace frostnas {
namespace {

using test::input_error;

// n samples of 1x4x4 whose label is their index, so batches show which samples they hold.
ImageDataset numbered(int64_t n) {
  ImageDataset data;
  data.images = torch::arange(16 * n).remainder(256).to(torch::kUInt8).view({n, 1, 4, 4});
  data.labels = torch::arange(n, torch::kInt64);
  data.num_classes = n;
  data.mean = {0.5f};
  data.std = {0.25f};
  data.name = "numbered";
  return data;
}

std::vector<Batch> epoch_batches(DataLoader& loader, int64_t epoch) {
  std::vector<Batch> out;
  loader.start_epoch(epoch);
  while (auto batch = loader.next()) out.push_back(*batch);
  return out;
}

bool same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].x.equal(b[i].x) || !a[i].y.equal(b[i].y)) return false;
  }
  return true;
}

TEST(Transforms, CropFlipDrawsEveryShiftAndMirror) {
  const torch::Tensor image = torch::arange(1, 10).to(torch::kUInt8).view({1, 1, 3, 3});
  const torch::Tensor padded = torch::constant_pad_nd(image, {1, 1, 1, 1}, 0);
  std::vector<torch::Tensor> candidates;  // 9 crops of the padded image, each also mirrored
  for (int64_t dy = 0; dy < 3; ++dy) {
    for (int64_t dx = 0; dx < 3; ++dx) {
      const torch::Tensor crop = padded.narrow(2, dy, 3).narrow(3, dx, 3);
      candidates.push_back(crop);
      candidates.push_back(crop.flip({3}));
    }
  }
  const torch::Tensor out = random_crop_flip(image.expand({300, 1, 3, 3}), 1, true, 11);
  std::vector<int> seen(candidates.size(), 0);
  for (int64_t i = 0; i < out.size(0); ++i) {
    const auto it = std::find_if(candidates.begin(), candidates.end(), [&](const torch::Tensor& c) {
      return c.equal(out.narrow(0, i, 1));
    });
    ASSERT_NE(it, candidates.end()) << "image " << i << " is no shifted/mirrored copy";
    ++seen[it - candidates.begin()];
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 0), 0);  // all 18 variants drawn
  EXPECT_TRUE(out.equal(random_crop_flip(image.expand({300, 1, 3, 3}), 1, true, 11)));
  EXPECT_FALSE(out.equal(random_crop_flip(image.expand({300, 1, 3, 3}), 1, true, 12)));
  EXPECT_TRUE(random_crop_flip(image, 0, false, 3).equal(image));
}

TEST(Transforms, NormalisesResizesAndReplicatesChannels) {
  const torch::Tensor images = torch::tensor({0, 255}, torch::kUInt8).view({2, 1, 1, 1});
  const torch::Tensor x = images_to_input(images, {0.5f}, {0.25f}, TransformOptions());
  EXPECT_TRUE(x.allclose(torch::tensor({-2.0f, 2.0f}).view({2, 1, 1, 1})));

  const torch::Tensor grey = torch::full({4, 1, 28, 28}, 51, torch::kUInt8);
  const torch::Tensor y =
      apply_transform(grey, {0.0f}, {1.0f}, TransformOptions().size(32).channels(3).pad(2), 0);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_EQ(y.scalar_type(), torch::kFloat);
  EXPECT_TRUE(y.select(1, 0).equal(y.select(1, 2)));
  // The centre is never reached by the zero padding (shift <= 2), and bilinear
  // resizing keeps a constant region constant.
  EXPECT_NEAR(y[0][1][16][16].item<float>(), 0.2f, 1e-6);

  EXPECT_NO_THROW(check_transform(TransformOptions().channels(3), 3));
  EXPECT_NO_THROW(check_transform(TransformOptions().channels(3), 1));
  EXPECT_EQ(input_error([] { check_transform(TransformOptions().channels(1), 3); }),
            "transform: channels 1 for 3-channel images (allowed 0 or 3)");
  EXPECT_EQ(input_error([] { check_transform(TransformOptions().pad(-1), 1); }),
            "transform: pad -1 must be >= 0");
}

TEST(Transforms, GatherEqualsApplyTransformBitForBit) {
  torch::manual_seed(3);
  const auto images = torch::randint(0, 256, {20, 3, 9, 7}, torch::kUInt8);
  const std::vector<int64_t> indices = {4, 0, 19, 4, 7, 12};
  const std::vector<float> mean = {0.3f, 0.5f, 0.7f}, std = {0.2f, 0.25f, 0.3f};
  const auto idx = torch::tensor(indices, torch::kInt64);
  for (const auto& o :
       {TransformOptions(), TransformOptions().pad(2).flip(true),
        TransformOptions().normalize(false).flip(true), TransformOptions().pad(1).size(12)}) {
    for (uint64_t seed : {0u, 5u}) {
      const auto want = apply_transform(images.index_select(0, idx), mean, std, o, seed);
      const auto got = gather_transformed(images, indices, mean, std, o, seed);
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(torch::equal(got, want))
          << "pad " << o.pad() << " flip " << o.flip() << " size " << o.size() << " seed " << seed;
    }
  }
}

TEST(DataLoader, EverySampleOncePerEpoch) {
  DataLoader loader(numbered(103), DataLoaderOptions().batch_size(10).seed(3));
  ASSERT_EQ(loader.batches_per_epoch(), 11);
  const std::vector<Batch> batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 11u);
  EXPECT_EQ(batches.back().y.size(0), 3);
  std::vector<torch::Tensor> ys;
  for (const Batch& b : batches) ys.push_back(b.y);
  const torch::Tensor all = torch::cat(ys);
  EXPECT_TRUE(std::get<0>(all.sort()).equal(torch::arange(103, torch::kInt64)));
  EXPECT_FALSE(all.equal(torch::arange(103, torch::kInt64)));  // shuffled
  EXPECT_EQ(batches[0].x.sizes(), (std::vector<int64_t>{10, 1, 4, 4}));

  DataLoader ordered(numbered(103),
                     DataLoaderOptions().batch_size(10).shuffle(false).drop_last(true));
  const std::vector<Batch> full = epoch_batches(ordered, 0);
  ASSERT_EQ(full.size(), 10u);
  EXPECT_TRUE(full[9].y.equal(torch::arange(90, 100, torch::kInt64)));
  // Sample 1 = pixels 16..31, normalised with mean 0.5 and std 0.25.
  EXPECT_NEAR(full[0].x[1][0][0][1].item<float>(), (17 / 255.0f - 0.5f) / 0.25f, 1e-5);
}

TEST(DataLoader, SameSeedSameBatchesWhateverThePrefetch) {
  const ImageDataset data =
      make_synthetic(SyntheticOptions().count(300).size(12).channels(3).classes(5));
  auto options =
      DataLoaderOptions().batch_size(32).seed(42).transform(TransformOptions().pad(2).flip(true));
  DataLoader a(data, options), b(data, options), sync(data, DataLoaderOptions(options).prefetch(0));
  const std::vector<Batch> a0 = epoch_batches(a, 0), a1 = epoch_batches(a, 1);
  EXPECT_TRUE(same_batches(a0, epoch_batches(b, 0)));
  EXPECT_TRUE(same_batches(a1, epoch_batches(b, 1)));
  EXPECT_TRUE(same_batches(a1, epoch_batches(sync, 1)));
  EXPECT_FALSE(same_batches(a0, a1));
  DataLoader other(data, DataLoaderOptions(options).seed(43));
  EXPECT_FALSE(same_batches(a0, epoch_batches(other, 0)));
  // Same order but different augmentation: the flips and crops are seeded too.
  DataLoader plain(data, DataLoaderOptions(options).transform(TransformOptions()));
  const std::vector<Batch> p0 = epoch_batches(plain, 0);
  EXPECT_TRUE(p0[0].y.equal(a0[0].y));
  EXPECT_FALSE(p0[0].x.equal(a0[0].x));
}

TEST(DataLoader, ResizesAndReplicatesForThreeChannelArchitectures) {
  DataLoader loader(make_synthetic(SyntheticOptions().count(20)),
                    DataLoaderOptions().batch_size(8).transform(
                        TransformOptions().pad(4).flip(true).size(32).channels(3)));
  loader.start_epoch(0);
  const Batch batch = *loader.next();
  EXPECT_EQ(batch.x.sizes(), (std::vector<int64_t>{8, 3, 32, 32}));
  EXPECT_EQ(batch.y.sizes(), (std::vector<int64_t>{8}));
  EXPECT_EQ(batch.y.scalar_type(), torch::kInt64);
}

TEST(DataLoader, RestartAndDestructionMidEpochDoNotHang) {
  const ImageDataset data = make_synthetic(SyntheticOptions().count(2000).size(16));
  {
    DataLoader loader(data, DataLoaderOptions().batch_size(16).prefetch(3));
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    loader.start_epoch(1);  // drops the prefetched batches of epoch 0
    DataLoader fresh(data, DataLoaderOptions().batch_size(16));
    const std::vector<Batch> expected = epoch_batches(fresh, 1);
    EXPECT_TRUE(same_batches(epoch_batches(loader, 1), expected));
    loader.start_epoch(2);
    loader.next();
  }  // destroyed with a full queue and the worker possibly mid-batch
  { DataLoader never_started(data); }
  SUCCEED();
}

TEST(DataLoader, BadOptionsAreInputErrors) {
  EXPECT_EQ(input_error([] { DataLoader(numbered(4), DataLoaderOptions().batch_size(0)); }),
            "data loader: batch_size 0 must be >= 1");
  ImageDataset no_stats = numbered(4);
  no_stats.mean.clear();
  EXPECT_EQ(input_error([&] { DataLoader loader(no_stats); }),
            "data loader: numbered has no per-channel mean/std for its 1 channels (set them or "
            "normalize(false))");
  EXPECT_NO_THROW(
      DataLoader(no_stats, DataLoaderOptions().transform(TransformOptions().normalize(false))));
  DataLoader loader(numbered(4));
  EXPECT_THROW(loader.next(), c10::Error);
}

TEST(DataLoader, FashionMnistThroughput) {
  const ImageDataset train = load_fashion_mnist(kFashionMnistDir, true);
  for (int64_t prefetch : {2, 0}) {
    DataLoader loader(train, DataLoaderOptions().batch_size(64).prefetch(prefetch).transform(
                                 TransformOptions().pad(2)));
    const auto start = std::chrono::steady_clock::now();
    loader.start_epoch(0);
    int64_t images = 0;
    while (auto batch = loader.next()) images += batch->x.size(0);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(images, 60000);
    std::cout << "[ info ] batch 64, pad-crop 2, prefetch " << prefetch << ": "
              << static_cast<int64_t>(images / seconds) << " images/s (" << seconds
              << " s per epoch)\n";
  }
}

}  // namespace
}  // namespace frostnas
