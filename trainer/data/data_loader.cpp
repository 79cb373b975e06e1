#include "trainer/data/data_loader.h"

#include <numeric>
#include <random>

#include "common/error.h"
#include "common/random.h"

namespace frostnas {

DataLoader::DataLoader(ImageDataset data, DataLoaderOptions options)
    : data_(std::move(data)), options_(std::move(options)) {
  TORCH_CHECK(data_.images.dim() == 4 && data_.images.scalar_type() == torch::kUInt8,
              "DataLoader: expected uint8 [N, C, H, W] images, got ", data_.images.sizes());
  TORCH_CHECK(data_.labels.dim() == 1 && data_.labels.size(0) == data_.size(),
              "DataLoader: expected ", data_.size(), " labels, got ", data_.labels.sizes());
  data_.images = data_.images.cpu().contiguous();
  if (data_.rows.defined()) data_.rows = data_.rows.cpu().to(torch::kInt64).contiguous();
  data_.labels = data_.labels.cpu().to(torch::kInt64).contiguous();
  if (options_.batch_size() < 1) {
    throw InputError("data loader: batch_size " + std::to_string(options_.batch_size()) +
                     " must be >= 1");
  }
  if (options_.prefetch() < 0) {
    throw InputError("data loader: prefetch " + std::to_string(options_.prefetch()) +
                     " must be >= 0");
  }
  check_transform(options_.transform(), data_.channels());
  if (options_.transform().normalize() &&
      (static_cast<int64_t>(data_.mean.size()) != data_.channels() ||
       static_cast<int64_t>(data_.std.size()) != data_.channels())) {
    throw InputError("data loader: " + data_.name + " has no per-channel mean/std for its " +
                     std::to_string(data_.channels()) + " channels (set them or normalize(false))");
  }
  if (options_.prefetch() > 0) worker_ = std::thread([this] { worker_loop(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = data_.size(), b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch(int64_t epoch) {
  auto order = std::make_shared<std::vector<int64_t>>(data_.size());
  std::iota(order->begin(), order->end(), 0);
  if (options_.shuffle()) {
    std::mt19937_64 rng(mix_seed(mix_seed(options_.seed(), 0), epoch));
    seeded_shuffle(*order, rng);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    epoch_ = epoch;
    num_batches_ = batches_per_epoch();
    produced_ = 0;
    consumed_ = 0;
    order_ = std::move(order);
    queue_.clear();
  }
  cv_.notify_all();
  started_ = true;
}

std::optional<Batch> DataLoader::next() {
  TORCH_CHECK(started_, "DataLoader::next: call start_epoch first");
  if (consumed_ >= num_batches_) return std::nullopt;
  if (!worker_.joinable()) return make_batch(*order_, epoch_, consumed_++);
  Slot slot;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (queue_.empty()) {
      // Not ready: build it here instead of waiting for a worker that a busy
      // machine may not schedule; a copy the worker has started is dropped.
      const int64_t index = consumed_++;
      produced_ = std::max(produced_, consumed_);
      lock.unlock();
      return make_batch(*order_, epoch_, index);
    }
    slot = std::move(queue_.front());
    queue_.pop_front();
    ++consumed_;
  }
  cv_.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.batch);
}

Batch DataLoader::make_batch(const std::vector<int64_t>& order, int64_t epoch,
                             int64_t index) const {
  const int64_t begin = index * options_.batch_size();
  const int64_t end = std::min<int64_t>(begin + options_.batch_size(), order.size());
  const std::vector<int64_t> indices(order.begin() + begin, order.begin() + end);
  const uint64_t seed = mix_seed(mix_seed(mix_seed(options_.seed(), 1), epoch), index);
  Batch batch;
  batch.x = gather_transformed(data_.images, image_rows(data_, indices), data_.mean, data_.std,
                               options_.transform(), seed)
                .to(options_.device());
  batch.y = torch::empty({end - begin}, torch::kInt64);
  const int64_t* labels = data_.labels.data_ptr<int64_t>();
  int64_t* y = batch.y.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) y[i] = labels[indices[i]];
  batch.y = batch.y.to(options_.device());
  return batch;
}

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] {
      return stop_ || (produced_ < num_batches_ &&
                       static_cast<int64_t>(queue_.size()) < options_.prefetch());
    });
    if (stop_) return;
    const int64_t index = produced_++;
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_;
    const std::shared_ptr<const std::vector<int64_t>> order = order_;
    lock.unlock();
    Slot slot;
    try {
      slot.batch = make_batch(*order, epoch, index);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lock.lock();
    // Dropped if start_epoch ran meanwhile or next() built this batch itself.
    if (generation != generation_ || index < consumed_) continue;
    queue_.push_back(std::move(slot));
    cv_.notify_all();
  }
}

}  // namespace frostnas
