#pragma once

#include <filesystem>
#include <string>

#include "space/net_spec.h"
#include "tests/common/tiny_nets.h"
#include "trainer/data/synthetic.h"
#include "trainer/train/train_config.h"
#include "trainer/train/train_model.h"

namespace frostnas::testing {

/// `train` (256) train / 128 val / 128 test synthetic 16x16 images of 4 classes with pixel
/// noise `noise` (0.3: easy, learnable in a few steps).
inline DataSplits tiny_splits(int64_t train = 256, double noise = 0.3) {
  auto make = [noise](int64_t count, uint64_t sample_seed) {
    return make_synthetic(SyntheticOptions()
                              .count(count)
                              .classes(4)
                              .channels(1)
                              .size(16)
                              .noise(noise)
                              .seed(7)
                              .sample_seed(sample_seed));
  };
  DataSplits d;
  d.train = make(train, 1);
  d.val = make(128, 2);
  d.test = make(128, 3);
  return d;
}

/// 2 epochs of 8 steps (batch 32), StatAssist with QSGD, 1 thread.
inline TrainConfig tiny_config() {
  TrainConfig c;
  c.epochs = 2;
  c.batch_size = 32;
  c.optimizer.name = "qsgd";
  c.optimizer.lr = 0.05;
  c.qat = QatScheme::kStatAssist;
  c.fp_warmup_epochs = 1;
  c.eval_batch_size = 64;
  c.threads = 1;
  c.seed = 3;
  c.checkpoint_each_epoch = false;
  return c;
}

inline std::string fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("frostnas_train_test_" + name);
  std::filesystem::remove_all(d);
  return d.string();
}

}  // namespace frostnas::testing
