#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "search/latency/latency_key.h"
#include "search/latency/lut_measurer.h"
#include "space/search_space.h"
#include "tests/common/temp_dir.h"

namespace frostnas::lut_testing {

/// A tiny space: 1-channel 8x8 input, stem 8, one skippable slot (8 -> 8) and one
/// stride-2 slot (8 -> 16) with kernel 3 or 5 and EF 1 or 3, head 32, 3 classes.
inline SearchSpace tiny_space() {
  SearchSpace s;
  s.name = "tiny";
  s.in_channels = 1;
  s.input_size = 8;
  s.num_classes = 3;
  s.stem = StemSpec{8, 3, 1};
  s.head = HeadSpec{32};
  s.dropout = 0.0;
  SlotSpec a;
  a.out_channels = 8;
  a.stride = 1;
  a.kernels = {3, 5};
  a.expansions = {1, 3};
  a.reductions = {2};
  a.skippable = true;
  SlotSpec b = a;
  b.out_channels = 16;
  b.stride = 2;
  b.skippable = false;
  s.stages = {SpaceStage{{a, b}}};
  return s;
}

using ::frostnas::testing::TempDir;

/// Deterministic fake latency of a key: int8 = 0.01 * length, fp32 = twice that.
inline double fake_ms(const std::string& key) { return 0.01 * static_cast<double>(key.size()); }

/// Counts what it is asked to measure and answers fake_ms; throws on call `fail_on`.
class CountingMeasurer : public LutMeasurer {
 public:
  std::vector<ItemTiming> measure(const std::vector<LutItem>& items) override {
    ++calls;
    if (calls == fail_on) throw std::runtime_error("measurer interrupted");
    std::vector<ItemTiming> out;
    for (const auto& item : items) {
      ++measured;
      keys.push_back(item.key);
      out.push_back({{fake_ms(item.key), 0.001, 3}, {2 * fake_ms(item.key), 0.002, 3}});
    }
    return out;
  }
  int calls = 0;
  int fail_on = -1;
  size_t measured = 0;
  std::vector<std::string> keys;
};

}  // namespace frostnas::lut_testing
