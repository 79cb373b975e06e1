#include "cli/progress.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/format.h"
#include "cli/progress_bar.h"
#include "search/cell/derivation.h"

namespace frostnas::cli {

namespace {

std::vector<ProgressField> step_fields(const StepInfo& s) {
  return {{"loss", fmt("%.4f", s.epoch_loss)},
          {"acc", fmt("%.2f%%", s.epoch_acc)},
          {"lr", fmt("%.3g", s.lr)},
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

namespace {

void print_stage_end(const CellSearchProgress& p) {
  std::cout << "stage " << p.stage + 1 << "/" << p.stages << ": softmaxed architecture weights"
            << " (* = strongest op of the edge)\n"
            << format_arch_weights(*p.weights)
            << "how decided each edge is (margin of the strongest op over uniform and over the "
               "runner-up; entropy 1 = uniform)\n"
            << format_edge_margins(*p.weights);
  if (p.next_ops != nullptr) {
    const auto slots = cell_edge_slots(p.weights->nodes);
    std::cout << "kept for stage " << p.stage + 2 << ":";
    for (size_t e = 0; e < p.next_ops->size(); ++e) {
      std::cout << (e ? ";" : "") << " " << to_string(slots[e]) << " ";
      for (size_t k = 0; k < (*p.next_ops)[e].size(); ++k)
        std::cout << (k ? "," : "") << (*p.next_ops)[e][k];
    }
    std::cout << "\n";
  }
  std::cout.flush();
}

}  // namespace

std::function<void(const CellSearchProgress&)> cell_search_progress(bool quiet) {
  auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
  return [bar, quiet](const CellSearchProgress& p) {
    using Event = CellSearchProgress::Event;
    const auto fields = [&] {
      return std::vector<ProgressField>{
          {"loss", fmt("%.4f", p.train_loss)},   {"acc", fmt("%.2f%%", p.train_acc)},
          {"val", fmt("%.2f%%", p.val_acc)},     {"lr", fmt("%.3g", p.lr)},
          {"mode", p.qat_active ? "qat" : "fp"}, {"arch", p.arch_active ? "on" : "off"}};
    };
    if (p.event == Event::kEpochStart) {
      ProgressBarOptions o;
      o.quiet = quiet;
      o.unit = "img";
      *bar = std::make_unique<ProgressBar>(
          "stage " + std::to_string(p.stage + 1) + "/" + std::to_string(p.stages) + " epoch " +
              std::to_string(p.epoch + 1) + "/" + std::to_string(p.epochs),
          p.steps * p.batch_size, o);
    } else if (p.event == Event::kStep) {
      if (*bar) (*bar)->update(p.step * p.batch_size, fields());
    } else if (p.event == Event::kEpochEnd) {
      if (*bar) (*bar)->finish(fields());
      bar->reset();
    } else if (p.event == Event::kStageEnd && p.weights != nullptr) {
      print_stage_end(p);
    }
  };
}

}  // namespace frostnas::cli
