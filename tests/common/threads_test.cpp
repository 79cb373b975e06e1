#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/threads.h"

using namespace frostnas;

TEST(Threads, OneKnobSetsLibTorchAndTheEnvironmentOfChildren) {
  const int before = torch::get_num_threads();
  set_threads(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(current_threads(), 1);
  ASSERT_NE(std::getenv("OPENBLAS_NUM_THREADS"), nullptr);
  EXPECT_EQ(std::string(std::getenv("OPENBLAS_NUM_THREADS")), "1");
  set_threads(2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_EQ(std::string(std::getenv("OPENBLAS_NUM_THREADS")), "2");
  set_threads(before);
}

TEST(Threads, OutOfRangeCountsAreInputErrors) {
  EXPECT_THROW(set_threads(0), InputError);
  EXPECT_THROW(set_threads(-3), InputError);
  EXPECT_THROW(set_threads(5000), InputError);
  EXPECT_GE(available_cores(), 1);
}
