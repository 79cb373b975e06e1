#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "trainer/data/image_dataset.h"
#include "trainer/data/transforms.h"

namespace frostnas {

/// One mini-batch ready for the network.
struct Batch {
  torch::Tensor x;  ///< float [B, C, H, W] on the loader's device
  torch::Tensor y;  ///< int64 [B] on the loader's device
};

struct DataLoaderOptions {
  TORCH_ARG(int64_t, batch_size) = 64;
  /// Seeded reshuffle every epoch; off: data set order.
  TORCH_ARG(bool, shuffle) = true;
  /// Drop the last, incomplete batch of an epoch.
  TORCH_ARG(bool, drop_last) = false;
  /// Shuffling and augmentation are functions of (seed, epoch, batch index) only.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Batches prepared ahead on a background thread; 0 prepares them in next().
  TORCH_ARG(int64_t, prefetch) = 2;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  TORCH_ARG(TransformOptions, transform) = {};
};

/// Iterates epochs of batches of an ImageDataset. A background thread prepares
/// the next `prefetch` batches (gather, augmentation, conversion, device copy)
/// while the caller trains on the current one; a batch that is not ready when it
/// is needed is built by the caller instead of waiting. Results depend only on
/// (seed, epoch, batch index), never on thread timing. Usage:
///   loader.start_epoch(e);
///   while (auto batch = loader.next()) train(batch->x, batch->y);
/// Destroying the loader mid-epoch stops the thread cleanly.
class DataLoader {
 public:
  /// Throws InputError on a bad batch size, prefetch count or transform.
  DataLoader(ImageDataset data, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  const ImageDataset& dataset() const { return data_; }
  const DataLoaderOptions& options() const { return options_; }
  int64_t batches_per_epoch() const;

  /// Starts (or restarts) epoch `epoch`, discarding unread batches.
  void start_epoch(int64_t epoch);
  /// The next batch of the current epoch; nullopt once it is exhausted.
  /// Rethrows an error raised while preparing the batch.
  std::optional<Batch> next();

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  Batch make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const;
  void worker_loop();

  ImageDataset data_;
  DataLoaderOptions options_;

  bool started_ = false;  ///< caller's thread only

  // Shared with the worker, guarded by mutex_ (the caller reads them unlocked
  // where only its own thread writes them).
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t generation_ = 0;  ///< bumped by start_epoch: stale batches are dropped
  int64_t epoch_ = 0;
  int64_t num_batches_ = 0;
  int64_t produced_ = 0;  ///< batches claimed by the worker or built by next()
  int64_t consumed_ = 0;  ///< batches returned by next()
  std::shared_ptr<const std::vector<int64_t>> order_;
  std::deque<Slot> queue_;
  std::thread worker_;
};

}  // namespace frostnas
