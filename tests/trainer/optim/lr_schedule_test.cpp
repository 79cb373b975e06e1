#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "trainer/optim/lr_schedule.h"

namespace frostnas {
namespace {

std::string error_of(const ScheduleConfig& config) {
  try {
    make_schedule(config);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(LrSchedule, CosineWithWarmupInSteps) {
  ScheduleConfig c;
  c.warmup = 2;
  c.total = 6;
  c.min_lr = 0.1;
  const auto s = make_schedule(c);
  EXPECT_DOUBLE_EQ(s->lr(1.0, 0), 0.5);  // (0 + 1) / 2
  EXPECT_DOUBLE_EQ(s->lr(1.0, 1), 1.0);
  EXPECT_DOUBLE_EQ(s->lr(1.0, 2), 1.0);  // cosine starts at the base lr
  // t = 3: progress 1/4, 0.1 + 0.9 * (1 + cos(pi / 4)) / 2 = 0.868198...
  EXPECT_NEAR(s->lr(1.0, 3), 0.8681980515, 1e-9);
  EXPECT_NEAR(s->lr(1.0, 4), 0.55, 1e-12);  // progress 1/2
  EXPECT_NEAR(s->lr(1.0, 6), 0.1, 1e-12);
  EXPECT_NEAR(s->lr(1.0, 100), 0.1, 1e-12);
  EXPECT_NEAR(s->lr(0.5, 1), 0.5, 1e-12);  // scales any base lr
}

TEST(LrSchedule, StepWithWarmupInEpochs) {
  ScheduleConfig c;
  c.name = "step";
  c.warmup = 1;
  c.milestones = {3, 5};
  c.gamma = 0.1;
  c.steps_per_unit = 10;  // counts are epochs of 10 batches
  const auto s = make_schedule(c);
  EXPECT_DOUBLE_EQ(s->lr(2.0, 0), 0.2);  // warm-up over 10 steps: 2 * 1 / 10
  EXPECT_DOUBLE_EQ(s->lr(2.0, 4), 1.0);
  EXPECT_DOUBLE_EQ(s->lr(2.0, 9), 2.0);
  EXPECT_DOUBLE_EQ(s->lr(2.0, 29), 2.0);
  EXPECT_NEAR(s->lr(2.0, 30), 0.2, 1e-12);
  EXPECT_NEAR(s->lr(2.0, 49), 0.2, 1e-12);
  EXPECT_NEAR(s->lr(2.0, 50), 0.02, 1e-12);
}

TEST(LrSchedule, ConstantWithoutWarmup) {
  ScheduleConfig c;
  c.name = "constant";
  const auto s = make_schedule(c);
  EXPECT_DOUBLE_EQ(s->lr(0.3, 0), 0.3);
  EXPECT_DOUBLE_EQ(s->lr(0.3, 1000), 0.3);
}

TEST(LrSchedule, RejectsUnknownNamesAndBadValues) {
  ScheduleConfig c;
  c.name = "poly";
  EXPECT_EQ(error_of(c),
            "schedule.name: unknown schedule \"poly\" (known: constant, cosine, step)");
  c = ScheduleConfig{};
  c.total = 5;
  c.warmup = 5;
  EXPECT_EQ(error_of(c), "schedule.total: 5 must exceed schedule.warmup (5)");
  c = ScheduleConfig{};
  c.name = "step";
  c.milestones = {5, 3};
  EXPECT_EQ(error_of(c), "schedule.milestones: 5, 3 must be increasing and >= 0");
  c.milestones = {3, 5};
  EXPECT_EQ(error_of(c), "no error");
}

TEST(LrScheduler, ScalesEveryGroupsBaseLr) {
  auto a = torch::zeros({2}, torch::requires_grad());
  auto b = torch::zeros({2}, torch::requires_grad());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{a},
                      std::make_unique<torch::optim::SGDOptions>(1.0));
  groups.emplace_back(std::vector<torch::Tensor>{b},
                      std::make_unique<torch::optim::SGDOptions>(0.5));
  torch::optim::SGD sgd(std::move(groups), torch::optim::SGDOptions(1.0));
  ScheduleConfig c;
  c.warmup = 2;
  c.total = 4;
  LrScheduler scheduler(sgd, make_schedule(c));
  EXPECT_DOUBLE_EQ(scheduler.set_step(0), 0.5);
  EXPECT_DOUBLE_EQ(sgd.param_groups()[1].options().get_lr(), 0.25);
  scheduler.set_step(3);  // cosine progress 1/2 -> half the base lr
  EXPECT_NEAR(sgd.param_groups()[0].options().get_lr(), 0.5, 1e-12);
  EXPECT_NEAR(sgd.param_groups()[1].options().get_lr(), 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(scheduler.base_lrs()[1], 0.5);
}

}  // namespace
}  // namespace frostnas
