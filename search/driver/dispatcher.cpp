#include "search/driver/dispatcher.h"

namespace frostnas {

DispatchOutcome SerialDispatcher::run(const std::vector<EvalTask>& tasks,
                                      const DispatchCallbacks& callbacks) {
  DispatchOutcome outcome;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (stop_ && stop_->load()) {
      outcome.status = DispatchStatus::kInterrupted;
      outcome.message = "stopped on request";
      return outcome;
    }
    callbacks.on_start(i, 0);
    const Evaluation e = evaluator_.evaluate(tasks[i].net, tasks[i].seed);
    if (e.interrupted) {
      outcome.status = DispatchStatus::kInterrupted;
      outcome.message = "stopped on request";
      return outcome;
    }
    callbacks.on_result(i, e);
  }
  return outcome;
}

}  // namespace frostnas
