#include "trainer/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

namespace {

// Linear warm-up over `warmup_` steps, then `after(base_lr, step)`.
class WarmupSchedule : public LrSchedule {
 public:
  explicit WarmupSchedule(int64_t warmup) : warmup_(warmup) {}
  double lr(double base_lr, int64_t step) const final {
    if (step < warmup_) return base_lr * static_cast<double>(step + 1) / warmup_;
    return after(base_lr, step);
  }

 protected:
  virtual double after(double base_lr, int64_t step) const = 0;
  int64_t warmup_;
};

class ConstantSchedule : public WarmupSchedule {
 public:
  using WarmupSchedule::WarmupSchedule;

 protected:
  double after(double base_lr, int64_t) const override { return base_lr; }
};

class CosineSchedule : public WarmupSchedule {
 public:
  CosineSchedule(int64_t warmup, int64_t total, double min_lr)
      : WarmupSchedule(warmup), total_(total), min_lr_(min_lr) {}

 protected:
  double after(double base_lr, int64_t step) const override {
    if (step >= total_) return min_lr_;
    const double progress = static_cast<double>(step - warmup_) / (total_ - warmup_);
    return min_lr_ + (base_lr - min_lr_) * 0.5 * (1 + std::cos(M_PI * progress));
  }

 private:
  int64_t total_;
  double min_lr_;
};

class StepSchedule : public WarmupSchedule {
 public:
  StepSchedule(int64_t warmup, std::vector<int64_t> milestones, double gamma)
      : WarmupSchedule(warmup), milestones_(std::move(milestones)), gamma_(gamma) {}

 protected:
  double after(double base_lr, int64_t step) const override {
    const auto passed =
        std::upper_bound(milestones_.begin(), milestones_.end(), step) - milestones_.begin();
    return base_lr * std::pow(gamma_, static_cast<double>(passed));
  }

 private:
  std::vector<int64_t> milestones_;  // in steps
  double gamma_;
};

using ScheduleFactory = std::function<std::unique_ptr<LrSchedule>(const ScheduleConfig&)>;

const std::vector<std::pair<std::string, ScheduleFactory>>& schedule_registry() {
  static const std::vector<std::pair<std::string, ScheduleFactory>> entries = {
      {"constant",
       [](const ScheduleConfig& c) {
         return std::make_unique<ConstantSchedule>(c.warmup * c.steps_per_unit);
       }},
      {"cosine",
       [](const ScheduleConfig& c) -> std::unique_ptr<LrSchedule> {
         if (c.total <= c.warmup) {
           throw InputError("schedule.total: " + std::to_string(c.total) +
                            " must exceed schedule.warmup (" + std::to_string(c.warmup) + ")");
         }
         if (c.min_lr < 0) throw InputError("schedule.min_lr: must be >= 0");
         return std::make_unique<CosineSchedule>(c.warmup * c.steps_per_unit,
                                                 c.total * c.steps_per_unit, c.min_lr);
       }},
      {"step",
       [](const ScheduleConfig& c) -> std::unique_ptr<LrSchedule> {
         if (!(c.gamma > 0 && c.gamma <= 1)) {
           throw InputError("schedule.gamma: " + std::to_string(c.gamma) +
                            " is out of range (allowed: (0, 1])");
         }
         std::vector<int64_t> steps;
         for (size_t i = 0; i < c.milestones.size(); ++i) {
           if (c.milestones[i] < 0 || (i > 0 && c.milestones[i] <= c.milestones[i - 1])) {
             throw InputError("schedule.milestones: " + join_ints(c.milestones) +
                              " must be increasing and >= 0");
           }
           steps.push_back(c.milestones[i] * c.steps_per_unit);
         }
         return std::make_unique<StepSchedule>(c.warmup * c.steps_per_unit, std::move(steps),
                                               c.gamma);
       }},
  };
  return entries;
}

}  // namespace

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& entry : schedule_registry()) v.push_back(entry.first);
    return v;
  }();
  return names;
}

std::unique_ptr<LrSchedule> make_schedule(const ScheduleConfig& config) {
  for (const auto& entry : schedule_registry()) {
    if (entry.first != config.name) continue;
    if (config.steps_per_unit < 1) {
      throw InputError("schedule.steps_per_unit: " + std::to_string(config.steps_per_unit) +
                       " must be >= 1");
    }
    if (config.warmup < 0) {
      throw InputError("schedule.warmup: " + std::to_string(config.warmup) + " must be >= 0");
    }
    return entry.second(config);
  }
  throw InputError("schedule.name: unknown schedule \"" + config.name +
                   "\" (known: " + join_strings(schedule_names()) + ")");
}

LrScheduler::LrScheduler(torch::optim::Optimizer& optimizer, std::unique_ptr<LrSchedule> schedule)
    : optimizer_(&optimizer), schedule_(std::move(schedule)) {
  TORCH_CHECK(schedule_ != nullptr, "LrScheduler: null schedule");
  for (const auto& group : optimizer.param_groups()) base_lrs_.push_back(group.options().get_lr());
}

double LrScheduler::set_step(int64_t step) {
  auto& groups = optimizer_->param_groups();
  TORCH_CHECK(groups.size() == base_lrs_.size(), "LrScheduler: param groups changed");
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].options().set_lr(schedule_->lr(base_lrs_[i], step));
  }
  return groups.empty() ? 0.0 : groups[0].options().get_lr();
}

}  // namespace frostnas
