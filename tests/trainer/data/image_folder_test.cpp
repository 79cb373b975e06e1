#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "tests/common/input_error.h"
#include "tests/trainer/data/image_files.h"
#include "tests/trainer/data/test_files.h"
#include "trainer/data/data_loader.h"
#include "trainer/data/decoded_cache.h"
#include "trainer/data/image_decode.h"
#include "trainer/data/image_folder.h"
#include "trainer/data/load_dataset.h"
#include "trainer/data/splits.h"
#include "trainer/data/transforms.h"

namespace frostnas {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using testing::input_error;

DecodeResult decode_bytes(const std::vector<uint8_t>& bytes, const DecodeOptions& o,
                          std::vector<uint8_t>& out) {
  out.assign(o.channels() * o.size() * o.size(), 0);
  return decode_image(bytes.data(), bytes.size(), o, out.data());
}

/// root/train/{cat,dog} and root/test/{cat,dog}: cats dark (40), dogs bright (200),
/// PNG and JPEG, gray and RGB, odd sizes. 4 train and 2 test images per class.
void make_pet_folder(const std::string& root) {
  const int sizes[][2] = {{37, 23}, {20, 31}, {17, 17}, {45, 29}};
  for (const std::string split : {"train", "test"}) {
    for (int cls = 0; cls < 2; ++cls) {
      const int value = cls == 0 ? 40 : 200;
      const std::string dir = root + "/" + split + "/" + (cls == 0 ? "cat" : "dog");
      for (int i = 0; i < (split == "train" ? 4 : 2); ++i) {
        const int w = sizes[i][0], h = sizes[i][1], c = i % 2 == 0 ? 3 : 1;
        const auto px = test::solid(w, h, c, value);
        if (i < 2)
          test::write_png(dir + "/img" + std::to_string(i) + ".png", w, h, c, px);
        else
          test::write_jpeg(dir + "/img" + std::to_string(i) + ".JPG", w, h, c, px);
      }
    }
  }
  std::ofstream(root + "/train/cat/notes.txt") << "not an image\n";
}

TEST(ImageDecode, PngAndJpegOfOddSizesGrayAndRgb) {
  std::vector<uint8_t> out;
  const auto rgb = test::solid(37, 23, 3, 100);  // (100, 140, 180)
  TempDir tmp;
  test::write_png(tmp.file("a.png"), 37, 23, 3, rgb);
  const auto png = read_file_bytes(tmp.file("a.png"));
  ASSERT_EQ(decode_bytes(png, DecodeOptions().size(16).channels(3), out).status, DecodeStatus::kOk);
  EXPECT_EQ(out[0], 100);
  EXPECT_EQ(out[16 * 16 + 5], 140);
  EXPECT_EQ(out[2 * 16 * 16 + 255], 180);
  // RGB -> gray: BT.601 luma.
  ASSERT_EQ(decode_bytes(png, DecodeOptions().size(9).channels(1), out).status, DecodeStatus::kOk);
  EXPECT_EQ(out.size(), 81u);
  EXPECT_NEAR(out[40], 0.299 * 100 + 0.587 * 140 + 0.114 * 180, 1.0);
  // Gray JPEG -> RGB: replicated.
  const auto gray_jpeg = test::jpeg_bytes(20, 31, 1, test::solid(20, 31, 1, 77));
  ASSERT_EQ(decode_bytes(gray_jpeg, DecodeOptions().size(12).channels(3), out).status,
            DecodeStatus::kOk);
  for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(out[ch * 144 + 70], 77, 2) << ch;
}

TEST(ImageDecode, ResizesShorterSideThenCropsTheCentre) {
  // A 64x32 horizontal ramp (value 2 * x): the shorter side 32 -> 16 halves the
  // image to 32x16, of which the centre columns 8..23 stay.
  const auto ramp = test::make_pixels(64, 32, 1, [](int x, int, int) { return uint8_t(2 * x); });
  std::vector<uint8_t> out(16 * 16);
  resize_center_crop(ramp.data(), 64, 32, 1, 16, out.data());
  for (int x = 0; x < 16; ++x) {
    // Resized column 8 + x averages source columns 2(8 + x) and 2(8 + x) + 1.
    EXPECT_NEAR(out[5 * 16 + x], 2 * (2 * (8 + x) + 0.5), 1.01) << x;
  }
  // A large JPEG goes through DCT-domain downscaling and still matches the PNG path.
  const auto big = test::make_pixels(
      400, 300, 3, [](int x, int y, int c) { return uint8_t((x + y + 60 * c) / 3); });
  TempDir tmp;
  test::write_png(tmp.file("big.png"), 400, 300, 3, big);
  std::vector<uint8_t> from_png, from_jpeg;
  const DecodeOptions o = DecodeOptions().size(24).channels(3);
  ASSERT_EQ(decode_bytes(read_file_bytes(tmp.file("big.png")), o, from_png).status,
            DecodeStatus::kOk);
  ASSERT_EQ(decode_bytes(test::jpeg_bytes(400, 300, 3, big), o, from_jpeg).status,
            DecodeStatus::kOk);
  double diff = 0;
  for (size_t i = 0; i < from_png.size(); ++i) diff += std::abs(from_png[i] - from_jpeg[i]);
  // JPEG compression and the 1/8 DCT-domain scale differ from the full-resolution PNG path by
  // about 2 grey levels on average on this ramp; a misplaced crop differs by tens.
  EXPECT_LT(diff / from_png.size(), 3.0);
}

TEST(ImageDecode, CorruptTruncatedNotAnImageAndTooSmall) {
  std::vector<uint8_t> out;
  const DecodeOptions o = DecodeOptions().size(16).channels(3);
  auto jpeg = test::jpeg_bytes(40, 40, 3, test::make_pixels(40, 40, 3, [](int x, int y, int c) {
                                 return uint8_t(x * 5 + y * 3 + c);
                               }));
  jpeg.resize(jpeg.size() / 2);
  const DecodeResult truncated = decode_bytes(jpeg, o, out);
  EXPECT_EQ(truncated.status, DecodeStatus::kCorrupt);
  EXPECT_NE(truncated.message.find("truncated JPEG"), std::string::npos) << truncated.message;

  TempDir tmp;
  test::write_png(tmp.file("p.png"), 40, 40, 1, test::solid(40, 40, 1, 9));
  auto png = read_file_bytes(tmp.file("p.png"));
  png.resize(png.size() - 20);
  EXPECT_EQ(decode_bytes(png, o, out).status, DecodeStatus::kCorrupt);

  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(decode_bytes(text, o, out).status, DecodeStatus::kNotAnImage);
  const DecodeResult small =
      decode_bytes(test::jpeg_bytes(3, 5, 1, test::solid(3, 5, 1, 1)), o, out);
  EXPECT_EQ(small.status, DecodeStatus::kTooSmall);
  EXPECT_NE(small.message.find("3x5"), std::string::npos) << small.message;
  test::write_bytes(tmp.file("bad.jpg"), text);
  EXPECT_EQ(input_error([&] { decode_image_file(tmp.file("bad.jpg"), o); }),
            tmp.file("bad.jpg") + ": not a JPEG or PNG image (unknown leading bytes)");
}

TEST(ImageFolder, ListsSortedClassesAndRefusesBadLayouts) {
  TempDir tmp;
  make_pet_folder(tmp.dir());
  const ImageList train = list_image_folder(tmp.dir(), "train");
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(train.files.size(), 8u);
  EXPECT_EQ(train.ignored, 1);
  EXPECT_EQ(train.files[0].label, 0);
  EXPECT_EQ(train.files[7].label, 1);
  EXPECT_EQ(list_image_folder(tmp.dir(), "test").files.size(), 4u);

  fs::create_directories(tmp.file("train/emu"));
  EXPECT_NE(input_error([&] {
              list_image_folder(tmp.dir(), "train");
            }).find(tmp.file("train/emu") + ": empty class folder"),
            std::string::npos);
  fs::remove_all(tmp.file("train/emu"));
  fs::create_directories(tmp.file("test/emu"));
  EXPECT_NE(input_error([&] {
              list_image_folder(tmp.dir(), "test");
            }).find("class 'emu' is not a class of"),
            std::string::npos);
  fs::remove_all(tmp.file("test"));
  EXPECT_NE(input_error([&] { list_image_folder(tmp.dir(), "test"); }).find("no test split"),
            std::string::npos);
}

TEST(ImageFolder, LoadsThroughTheCacheAndRebuildsWhenAFileChanges) {
  TempDir tmp;
  make_pet_folder(tmp.file("pets"));
  const std::string name = "folder:" + tmp.file("pets");
  const DatasetOptions o = DatasetOptions().image_size(12).channels(1).cache_dir(tmp.file("cache"));
  const ImageDataset train = load_dataset(name, "train", "", o);
  ASSERT_EQ(train.size(), 8);
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{8, 1, 12, 12}));
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(train.num_classes, 2);
  // Labels follow content: cats dark, dogs bright.
  const torch::Tensor means = train.images.to(torch::kFloat).mean({1, 2, 3});
  for (int64_t i = 0; i < 8; ++i)
    EXPECT_EQ(means[i].item<float>() > 128, train.labels[i].item<int64_t>() == 1) << i;
  ASSERT_EQ(train.mean.size(), 1u);
  EXPECT_GT(train.mean[0], 0.2f);
  EXPECT_GT(train.std[0], 0.2f);

  std::vector<fs::path> caches;
  for (const auto& e : fs::directory_iterator(tmp.file("cache"))) caches.push_back(e.path());
  ASSERT_EQ(caches.size(), 1u);
  const auto written = fs::last_write_time(caches[0]);
  // Unchanged files: the cache is read, not rewritten.
  const ImageDataset again = load_dataset(name, "train", "", o);
  EXPECT_TRUE(torch::equal(again.images, train.images));
  EXPECT_EQ(fs::last_write_time(caches[0]), written);
  // A changed image (new content, size and time) rebuilds it.
  test::write_png(tmp.file("pets/train/cat/img1.png"), 20, 31, 1, test::solid(20, 31, 1, 250));
  const ImageDataset changed = load_dataset(name, "train", "", o);
  EXPECT_FALSE(torch::equal(changed.images, train.images));
  EXPECT_NEAR(changed.images[1].to(torch::kFloat).mean().item<float>(), 250, 1);
  // Another size is another cache file; the seeded split keeps class names.
  const ImageDataset big = load_dataset(name, "train", "", DatasetOptions(o).image_size(16));
  EXPECT_EQ(big.height(), 16);
  const SplitIndices split = split_indices(big, 0, 2, 7);
  const ImageDataset val = select_samples(big, split.val);
  EXPECT_EQ(val.size(), 2);
  EXPECT_EQ(val.labels.sum().item<int64_t>(), 1);  // stratified: one of each class
  EXPECT_EQ(select_samples(big, split.train).class_names, big.class_names);
}

TEST(ImageFolder, SplitsOfACachedSetAreRowViewsThatBatchLikeCopies) {
  TempDir tmp;
  make_pet_folder(tmp.file("pets"));
  const DatasetOptions o = DatasetOptions().image_size(12).channels(3).cache_dir(tmp.file("cache"));
  const ImageDataset full = load_dataset("folder:" + tmp.file("pets"), "train", "", o);
  ASSERT_TRUE(full.mapped);
  const std::vector<int64_t> picked{6, 1, 3, 7, 0};
  // The split keeps the memory-mapped images and lists its rows; a copy gathers them.
  const ImageDataset view = select_samples(full, picked);
  ImageDataset in_memory = full;
  in_memory.mapped = false;
  const ImageDataset copy = select_samples(in_memory, picked);
  ASSERT_TRUE(view.rows.defined());
  EXPECT_EQ(view.images.data_ptr(), full.images.data_ptr());
  EXPECT_EQ(view.size(), 5);
  EXPECT_FALSE(copy.rows.defined());
  EXPECT_TRUE(torch::equal(view.labels, copy.labels));
  EXPECT_TRUE(torch::equal(sample_images(view, {0, 4}),
                           copy.images.index_select(0, torch::tensor({0, 4}))));
  // A view of a view maps through both.
  const ImageDataset inner = select_samples(view, {4, 0});
  EXPECT_EQ(image_rows(inner, {0, 1}), (std::vector<int64_t>{0, 6}));
  // Batches drawn from the view equal those from the copy, augmentation included.
  const auto options =
      DataLoaderOptions().batch_size(2).seed(9).transform(TransformOptions().flip(true).pad(2));
  DataLoader a(view, options), b(copy, options);
  a.start_epoch(0);
  b.start_epoch(0);
  int64_t batches = 0;
  for (auto x = a.next(), y = b.next(); x || y; x = a.next(), y = b.next(), ++batches) {
    ASSERT_TRUE(x && y);
    EXPECT_TRUE(torch::equal(x->x, y->x));
    EXPECT_TRUE(torch::equal(x->y, y->y));
  }
  EXPECT_EQ(batches, 3);
}

TEST(ImageFolder, BadImageRefusedNamingItOrSkippedWithACount) {
  TempDir tmp;
  make_pet_folder(tmp.file("pets"));
  auto jpeg = read_file_bytes(tmp.file("pets/train/dog/img2.JPG"));
  jpeg.resize(jpeg.size() * 2 / 3);
  test::write_bytes(tmp.file("pets/train/dog/img2.JPG"), jpeg);
  const std::string name = "folder:" + tmp.file("pets");
  const DatasetOptions o = DatasetOptions().image_size(8).channels(3).cache_dir(tmp.file("cache"));
  const std::string err = input_error([&] { load_dataset(name, "train", "", o); });
  EXPECT_EQ(err.rfind(tmp.file("pets/train/dog/img2.JPG") + ": corrupt", 0), 0u) << err;
  EXPECT_NE(err.find("--skip-bad-images"), std::string::npos) << err;
  // No cache file (nor a temporary one) is left behind by the refusal.
  EXPECT_TRUE(!fs::exists(tmp.file("cache")) || fs::is_empty(tmp.file("cache")));
  const ImageDataset kept =
      load_dataset(name, "train", "", DatasetOptions(o).skip_bad_images(true));
  EXPECT_EQ(kept.size(), 7);
  EXPECT_EQ(kept.labels.sum().item<int64_t>(), 3);
}

TEST(ImageFolder, CacheThatCannotBeWrittenIsOneLineNamingIt) {
  TempDir tmp;
  make_pet_folder(tmp.file("pets"));
  std::ofstream(tmp.file("blocker")) << "a file where the cache folder should be";
  const DatasetOptions o =
      DatasetOptions().image_size(8).channels(1).cache_dir(tmp.file("blocker/cache"));
  const std::string err =
      input_error([&] { load_dataset("folder:" + tmp.file("pets"), "train", "", o); });
  EXPECT_EQ(err.rfind(tmp.file("blocker/cache/"), 0), 0u) << err;
  EXPECT_NE(err.find("cannot write file (Not a directory)"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

TEST(ImageList, ReadsLabelsAndRefusesBadEntries) {
  TempDir tmp;
  test::write_png(tmp.file("img/a.png"), 11, 13, 3, test::solid(11, 13, 3, 10));
  test::write_jpeg(tmp.file("img/b.jpg"), 15, 9, 1, test::solid(15, 9, 1, 220));
  test::write_png(tmp.file("img/c.png"), 9, 9, 1, test::solid(9, 9, 1, 230));
  std::ofstream(tmp.file("list.csv")) << "path,label\nimg/a.png,zebra\nimg/b.jpg,ant\n\n"
                                         "# comment\nimg/c.png\tant\n";
  const ImageList list = read_image_list(tmp.file("list.csv"), "train");
  EXPECT_EQ(list.class_names, (std::vector<std::string>{"ant", "zebra"}));
  ASSERT_EQ(list.files.size(), 3u);
  EXPECT_EQ(list.files[0].label, 1);
  const ImageDataset data = load_dataset("list:" + tmp.file("list.csv"), "train", "",
                                         DatasetOptions().image_size(8).cache_dir(tmp.file("c")));
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(data.channels(), 3);

  std::ofstream(tmp.file("classes.txt")) << "ant\nzebra\n";
  std::ofstream(tmp.file("idx.csv")) << "img/a.png,1\nimg/b.jpg,0\nimg/c.png,2\n";
  EXPECT_EQ(input_error([&] { read_image_list(tmp.file("idx.csv"), "train"); }),
            tmp.file("idx.csv") +
                ": line 3: label '2' out of range (allowed: the 2 names of classes.txt or 0..1)");
  std::ofstream(tmp.file("out.csv")) << "img/a.png,ant\n../x.png,ant\n";
  EXPECT_NE(input_error([&] {
              read_image_list(tmp.file("out.csv"), "train");
            }).find("out.csv: line 2: path '../x.png' is outside"),
            std::string::npos);
  std::ofstream(tmp.file("gone.csv")) << "img/a.png,ant\nimg/missing.png,zebra\n";
  EXPECT_NE(input_error([&] {
              load_dataset("list:" + tmp.file("gone.csv"), "train", "",
                           DatasetOptions().image_size(8).cache_dir(tmp.file("c")));
            }).find(tmp.file("img/missing.png") + ": cannot open"),
            std::string::npos);
  EXPECT_NE(input_error([&] {
              load_dataset("list:" + tmp.file("list.csv"), "test");
            }).find("no test split"),
            std::string::npos);
}

TEST(ImageFolder, NamesAreCheckedLikeBuiltins) {
  EXPECT_TRUE(is_known_dataset("folder:/x"));
  EXPECT_TRUE(is_known_dataset("list:l.csv"));
  EXPECT_FALSE(is_known_dataset("folder:"));
  EXPECT_FALSE(is_known_dataset("imagenet"));
  EXPECT_EQ(
      input_error([] { check_dataset_name("folder:", "--data"); }),
      "--data: unknown value 'folder:' (allowed: cifar10, cifar100, fashion-mnist, synthetic, "
      "folder:PATH, list:FILE)");
}

TEST(Transforms, RandomResizedCropIsSeededAndKeepsTheShape) {
  const torch::Tensor ramp = torch::arange(0, 16 * 16, torch::kInt64)
                                 .remainder(251)
                                 .to(torch::kUInt8)
                                 .view({1, 1, 16, 16});
  const torch::Tensor batch = ramp.repeat({4, 3, 1, 1});
  const torch::Tensor a = random_resized_crop(batch, 0.3, 5);
  EXPECT_EQ(a.sizes(), batch.sizes());
  EXPECT_TRUE(torch::equal(a, random_resized_crop(batch, 0.3, 5)));
  EXPECT_FALSE(torch::equal(a, random_resized_crop(batch, 0.3, 6)));
  EXPECT_FALSE(torch::equal(a, batch));
  EXPECT_TRUE(torch::equal(random_resized_crop(batch, 0.0, 5), batch));
  // A constant image stays constant whatever the window.
  const torch::Tensor flat = torch::full({2, 1, 9, 9}, 77, torch::kUInt8);
  EXPECT_TRUE(torch::equal(random_resized_crop(flat, 0.1, 1), flat));
  const TransformOptions t =
      without_augmentation(TransformOptions().pad(2).flip(true).crop_scale(0.5));
  EXPECT_EQ(t.pad(), 0);
  EXPECT_FALSE(t.flip());
  EXPECT_EQ(t.crop_scale(), 0.0);
  EXPECT_THROW(check_transform(TransformOptions().crop_scale(1.5), 1), InputError);
}

}  // namespace
}  // namespace frostnas
