#include <chrono>
#include <iostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "tests/trainer/data/test_files.h"
#include "trainer/data/cifar.h"
#include "trainer/data/fashion_mnist.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"

namespace frostnas {
namespace {

using test::idx_header;
using test::input_error;
using test::TempDir;
using test::write_gz;
using test::write_plain;

// Three 2x3 images with pixel value 10 * image + position, labels 2, 0, 1.
void write_tiny_idx(const TempDir& tmp, const std::string& prefix, bool gz) {
  std::vector<uint8_t> images = idx_header({3, 2, 3});
  for (int i = 0; i < 3; ++i) {
    for (int p = 0; p < 6; ++p) images.push_back(static_cast<uint8_t>(10 * i + p));
  }
  std::vector<uint8_t> labels = idx_header({3});
  labels.insert(labels.end(), {2, 0, 1});
  auto write = gz ? write_gz : write_plain;
  write(tmp.file(prefix + "-images-idx3-ubyte" + (gz ? ".gz" : "")), images);
  write(tmp.file(prefix + "-labels-idx1-ubyte" + (gz ? ".gz" : "")), labels);
}

TEST(IdxReader, ReadsGzippedAndPlainFiles) {
  TempDir tmp;
  write_tiny_idx(tmp, "gz", true);
  write_tiny_idx(tmp, "plain", false);
  for (const std::string& path :
       {tmp.file("gz-images-idx3-ubyte.gz"), tmp.file("plain-images-idx3-ubyte")}) {
    const torch::Tensor images = read_idx_ubyte(path, 3);
    ASSERT_EQ(images.sizes(), (std::vector<int64_t>{3, 2, 3})) << path;
    EXPECT_EQ(images[0][0][0].item<int>(), 0);
    EXPECT_EQ(images[1][1][2].item<int>(), 15);
    EXPECT_EQ(images[2][0][1].item<int>(), 21);
  }
  const ImageDataset data = read_idx_dataset(tmp.file("gz-images-idx3-ubyte.gz"),
                                             tmp.file("gz-labels-idx1-ubyte.gz"), 3, "tiny");
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{3, 1, 2, 3}));
  EXPECT_EQ(data.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(data.labels.equal(torch::tensor({2, 0, 1}, torch::kInt64)));
}

TEST(IdxReader, BadMagicNamesFileAndOffset) {
  TempDir tmp;
  std::vector<uint8_t> bytes = idx_header({1, 1});  // 2 dimensions where 3 are expected
  bytes.push_back(7);
  write_gz(tmp.file("x.gz"), bytes);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("x.gz"), 3); }),
            tmp.file("x.gz") +
                ": byte 0: bad magic number 0x00000802 (expected 0x00000803: IDX unsigned bytes, "
                "3 dimensions)");
  bytes[2] = 0x0d;  // float data
  write_gz(tmp.file("y.gz"), bytes);
  EXPECT_NE(input_error([&] { read_idx_ubyte(tmp.file("y.gz"), 2); }).find("0x00000d02"),
            std::string::npos);
}

TEST(IdxReader, TruncatedDataNamesFileAndOffset) {
  TempDir tmp;
  std::vector<uint8_t> bytes = idx_header({3, 2, 2});  // 16 header + 12 data bytes declared
  bytes.resize(16 + 10, 1);
  write_gz(tmp.file("t.gz"), bytes);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("t.gz"), 3); }),
            tmp.file("t.gz") +
                ": byte 26: truncated data (header declares 3x2x2 = 12 bytes, the file holds 10)");
  bytes.resize(10);  // inside the header
  write_plain(tmp.file("h"), bytes);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("h"), 3); }),
            tmp.file("h") + ": byte 10: truncated IDX header (expected 16 bytes for 3 dimensions)");
  bytes.resize(3);
  write_plain(tmp.file("m"), bytes);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("m"), 3); }),
            tmp.file("m") + ": byte 3: truncated IDX magic number (4 bytes)");
}

TEST(IdxReader, HugeDeclaredSizeIsTruncationNotAllocation) {
  TempDir tmp;
  std::vector<uint8_t> bytes = idx_header({0xffffffffu, 0xffffffffu, 0xffffffffu});
  bytes.resize(bytes.size() + 5, 0);
  write_plain(tmp.file("big"), bytes);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("big"), 3); }),
            tmp.file("big") +
                ": byte 21: truncated data (header declares 4294967295x4294967295x4294967295 = "
                "more than 5 bytes, the file holds 5)");
}

TEST(IdxReader, TrailingBytesAndZeroDimensionsAreErrors) {
  TempDir tmp;
  std::vector<uint8_t> bytes = idx_header({2});
  bytes.insert(bytes.end(), {1, 2, 3});
  write_plain(tmp.file("l"), bytes);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("l"), 1); }),
            tmp.file("l") + ": byte 10: 1 unexpected bytes after the declared 2 data");
  write_plain(tmp.file("z"), idx_header({4, 0, 3}));
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("z"), 3); }),
            tmp.file("z") + ": byte 8: dimension 1 is 0");
}

TEST(IdxReader, CutGzipStreamIsReported) {
  TempDir tmp;
  std::vector<uint8_t> bytes = idx_header({200, 10, 10});
  for (int i = 0; i < 20000; ++i) bytes.push_back(static_cast<uint8_t>(i * 7919 % 251));
  write_gz(tmp.file("c.gz"), bytes);
  std::filesystem::resize_file(tmp.file("c.gz"), std::filesystem::file_size(tmp.file("c.gz")) / 2);
  const std::string message = input_error([&] { read_idx_ubyte(tmp.file("c.gz"), 3); });
  EXPECT_EQ(message.rfind(tmp.file("c.gz") + ": byte ", 0), 0u) << message;
  EXPECT_NE(message.find("gzip stream ends early (truncated file)"), std::string::npos) << message;

  // A damaged CRC (8th byte from the end) is caught once all data is inflated; the
  // error is located at the start of the 64 KiB read that failed.
  std::vector<uint8_t> big = idx_header({100, 40, 50});
  big.resize(big.size() + 200000, 5);
  write_gz(tmp.file("d.gz"), big);
  std::vector<uint8_t> gz;
  {
    std::ifstream in(tmp.file("d.gz"), std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz[gz.size() - 8] ^= 0xff;
  write_plain(tmp.file("d.gz"), gz);
  EXPECT_EQ(input_error([&] { read_idx_ubyte(tmp.file("d.gz"), 3); }),
            tmp.file("d.gz") + ": byte 196608: corrupt gzip data (incorrect data check)");
}

TEST(IdxReader, LabelOutOfRangeAndCountMismatch) {
  TempDir tmp;
  write_tiny_idx(tmp, "a", true);
  EXPECT_EQ(input_error([&] {
              read_idx_dataset(tmp.file("a-images-idx3-ubyte.gz"),
                               tmp.file("a-labels-idx1-ubyte.gz"), 2, "tiny");
            }),
            tmp.file("a-labels-idx1-ubyte.gz") + ": byte 8: label 2 out of range (allowed 0..1)");
  std::vector<uint8_t> labels = idx_header({2});
  labels.insert(labels.end(), {0, 1});
  write_gz(tmp.file("two.gz"), labels);
  EXPECT_EQ(input_error([&] {
              read_idx_dataset(tmp.file("a-images-idx3-ubyte.gz"), tmp.file("two.gz"), 3, "tiny");
            }),
            tmp.file("two.gz") + ": 2 labels but " + tmp.file("a-images-idx3-ubyte.gz") +
                " holds 3 images");
}

TEST(FashionMnist, MissingFileNamesPath) {
  TempDir tmp;
  EXPECT_EQ(input_error([&] { load_fashion_mnist(tmp.dir(), true); }),
            tmp.file("train-images-idx3-ubyte") + ": no such file (also tried " +
                tmp.file("train-images-idx3-ubyte.gz") + ")");
}

TEST(FashionMnist, RejectsImagesThatAreNot28x28) {
  TempDir tmp;
  write_tiny_idx(tmp, "t10k", false);
  EXPECT_EQ(input_error([&] { load_fashion_mnist(tmp.dir(), false); }),
            tmp.file("t10k-images-idx3-ubyte") +
                ": byte 8: images are 2x3 (Fashion-MNIST expects 28x28)");
}

TEST(FashionMnist, LoadsTheInstalledPackage) {
  const auto start = std::chrono::steady_clock::now();
  const ImageDataset train = load_dataset("fashion-mnist", "train");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ info ] Fashion-MNIST train set loaded in " << seconds << " s\n";
  const ImageDataset test = load_fashion_mnist(kFashionMnistDir, false);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(train.num_classes, 10);
  // Both splits are balanced: 6000 and 1000 images of each class 0..9.
  EXPECT_TRUE(torch::bincount(train.labels).equal(torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::bincount(test.labels).equal(torch::full({10}, 1000, torch::kInt64)));
  const ChannelStats stats = channel_stats(train.images);
  EXPECT_NEAR(stats.mean[0], train.mean[0], 5e-4);
  EXPECT_NEAR(stats.std[0], train.std[0], 5e-4);
}

// CIFAR record: label byte(s) then 3072 pixels, pixel p of record r = (r + p) % 256.
std::vector<uint8_t> cifar_records(const std::vector<std::vector<uint8_t>>& labels) {
  std::vector<uint8_t> out;
  for (size_t r = 0; r < labels.size(); ++r) {
    out.insert(out.end(), labels[r].begin(), labels[r].end());
    for (int p = 0; p < 3072; ++p) out.push_back(static_cast<uint8_t>((r + p) % 256));
  }
  return out;
}

TEST(Cifar, Cifar10RoundTrip) {
  TempDir tmp;
  for (int i = 1; i <= 5; ++i) {
    write_plain(tmp.file("data_batch_" + std::to_string(i) + ".bin"),
                cifar_records({{static_cast<uint8_t>(i)}, {9}}));
  }
  write_gz(tmp.file("test_batch.bin.gz"), cifar_records({{3}}));
  const ImageDataset train = load_dataset("cifar10", "train", tmp.dir());
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_TRUE(train.labels.equal(torch::tensor({1, 9, 2, 9, 3, 9, 4, 9, 5, 9}, torch::kInt64)));
  // Record 1 of each file: pixel (c, y, x) = (1 + 1024 c + 32 y + x) % 256.
  EXPECT_EQ(train.images[1][0][0][0].item<int>(), 1);
  EXPECT_EQ(train.images[3][2][1][5].item<int>(), (1 + 2048 + 32 + 5) % 256);
  EXPECT_EQ(train.mean.size(), 3u);
  const ImageDataset test = load_cifar10(tmp.dir(), false);
  EXPECT_EQ(test.size(), 1);
  EXPECT_EQ(test.labels[0].item<int64_t>(), 3);
  EXPECT_EQ(test.name, "cifar10");
}

TEST(Cifar, Cifar100UsesFineLabels) {
  TempDir tmp;
  write_plain(tmp.file("train.bin"), cifar_records({{19, 99}, {0, 42}, {7, 0}}));
  const ImageDataset train = load_cifar100(tmp.dir(), true);
  EXPECT_EQ(train.num_classes, 100);
  EXPECT_TRUE(train.labels.equal(torch::tensor({99, 42, 0}, torch::kInt64)));
  EXPECT_EQ(train.images[2][0][0][1].item<int>(), 3);
  EXPECT_EQ(input_error([&] { load_cifar100(tmp.dir(), false); }),
            tmp.file("test.bin") + ": no such file (also tried " + tmp.file("test.bin.gz") + ")");
}

TEST(Cifar, TruncatedRecordAndBadLabelsNameFileAndOffset) {
  TempDir tmp;
  std::vector<uint8_t> bytes = cifar_records({{1}, {2}});
  bytes.resize(3073 + 100);
  write_plain(tmp.file("t.bin"), bytes);
  EXPECT_EQ(input_error([&] { read_cifar_files({tmp.file("t.bin")}, 1, 10, "cifar10"); }),
            tmp.file("t.bin") +
                ": byte 3073: truncated record (expected 3073 bytes per record, 100 left)");
  write_plain(tmp.file("l.bin"), cifar_records({{1}, {10}}));
  EXPECT_EQ(input_error([&] { read_cifar_files({tmp.file("l.bin")}, 1, 10, "cifar10"); }),
            tmp.file("l.bin") + ": byte 3073: label 10 out of range (allowed 0..9)");
  write_plain(tmp.file("c.bin"), cifar_records({{20, 1}}));
  EXPECT_EQ(input_error([&] { read_cifar_files({tmp.file("c.bin")}, 2, 100, "cifar100"); }),
            tmp.file("c.bin") + ": byte 0: coarse label 20 out of range (allowed 0..19)");
  write_plain(tmp.file("e.bin"), {});
  EXPECT_EQ(input_error([&] { read_cifar_files({tmp.file("e.bin")}, 1, 10, "cifar10"); }),
            tmp.file("e.bin") + ": byte 0: empty file (no records)");
}

TEST(LoadDataset, UnknownNamesAndSplitsListTheKnownOnes) {
  EXPECT_EQ(input_error([] { load_dataset("mnist", "train"); }),
            "unknown data set 'mnist' (known: cifar10, cifar100, fashion-mnist, synthetic)");
  EXPECT_EQ(input_error([] { load_dataset("synthetic", "val"); }),
            "synthetic: unknown split 'val' (known: train, test)");
  EXPECT_EQ(default_data_dir("fashion-mnist"), kFashionMnistDir);
}

TEST(LoadDataset, SyntheticTrainAndTestShareTemplatesNotSamples) {
  const ImageDataset train = load_dataset("synthetic", "train");
  const ImageDataset test = load_dataset("synthetic", "test");
  EXPECT_EQ(train.size(), 4096);
  EXPECT_EQ(test.size(), 1024);
  EXPECT_EQ(train.images.sizes().slice(1), test.images.sizes().slice(1));
  EXPECT_FALSE(train.images.narrow(0, 0, 1024).equal(test.images));
}

}  // namespace
}  // namespace frostnas
