#include "cli/progress.h"

#include <cstdio>
#include <memory>
#include <string>

#include "cli/progress_bar.h"

namespace frostnas::cli {

namespace {

std::string format(const char* f, double v) {
  char text[32];
  std::snprintf(text, sizeof text, f, v);
  return text;
}

std::vector<ProgressField> step_fields(const StepInfo& s) {
  return {{"loss", format("%.4f", s.epoch_loss)},
          {"acc", format("%.2f%%", s.epoch_acc)},
          {"lr", format("%.3g", s.lr)},
          {"mode", s.qat_active ? "qat" : "fp"}};
}

}  // namespace

TrainCallbacks train_progress(int64_t epochs, int64_t batch_size, bool quiet) {
  struct State {
    std::unique_ptr<ProgressBar> bar;
    int64_t first = 0;
    std::vector<ProgressField> last;
  };
  auto state = std::make_shared<State>();
  TrainCallbacks c;
  c.on_epoch_start = [=](int64_t epoch, int64_t first, int64_t steps) {
    ProgressBarOptions o;
    o.quiet = quiet;
    o.unit = "img";
    state->first = first;
    state->bar = std::make_unique<ProgressBar>(
        "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
        (steps - first) * batch_size, o);
  };
  c.on_step = [=](const StepInfo& s) {
    state->last = step_fields(s);
    if (state->bar)
      state->bar->update((s.step_in_epoch + 1 - state->first) * batch_size, state->last);
    return false;
  };
  c.on_epoch_end = [=](const EpochInfo&) {
    if (state->bar) state->bar->finish(state->last);
    state->bar.reset();
  };
  return c;
}

LatencyBuildCallbacks latency_progress(bool quiet) {
  ProgressBarOptions o;
  o.quiet = quiet;
  o.unit = "entries";
  auto bar = std::make_shared<ProgressBar>("latency table", 0, o);
  LatencyBuildCallbacks c;
  c.on_progress = [bar](size_t done, size_t total) {
    bar->update(static_cast<int64_t>(done), {{"of", std::to_string(total)}});
  };
  c.on_done = [bar](const LutBuildReport& r) {
    bar->finish({{"measured", std::to_string(r.measured)}, {"reused", std::to_string(r.reused)}});
  };
  return c;
}

}  // namespace frostnas::cli
