#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "search/driver/evaluator.h"
#include "search/driver/worker_protocol.h"
#include "space/net_spec.h"

namespace frostnas {

/// One candidate handed out for evaluation.
struct EvalTask {
  int64_t candidate_id = 0;
  int64_t seq = 0;      ///< the candidate's sequence number in its experiment
  int64_t attempt = 1;  ///< 1 on the first evaluation, 2 after one crash
  NetSpec net;
  uint64_t seed = 0;  ///< the training seed (candidate_seed)
};

/// How a batch of evaluations ended.
enum class DispatchStatus {
  kDone,         ///< every task has its result
  kInterrupted,  ///< a stop request: the tasks without a result were abandoned
  kTimedOut,     ///< a worker did not answer within the deadline
};

struct DispatchOutcome {
  DispatchStatus status = DispatchStatus::kDone;
  std::string message;        ///< one line for the user when not kDone
  std::vector<size_t> stuck;  ///< kTimedOut: the tasks the silent workers held
};

/// What a dispatcher reports while it runs a batch.
struct DispatchCallbacks {
  /// Before task `task` is handed to `worker` (0: this process, else the MPI rank).
  std::function<void(size_t task, int64_t worker)> on_start;
  /// When the evaluation of task `task` comes back (in any order).
  std::function<void(size_t task, const Evaluation& evaluation)> on_result;
};

/// Hands the evaluations of a batch to whoever trains: this process one task after
/// the other, or MPI workers all at once (search/mpi). Dispatchers never touch the
/// store or the strategy; the driver does, through the callbacks.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  /// How many evaluations can run at once.
  virtual int64_t workers() const = 0;
  /// Evaluates `tasks`, calling `on_start` then, later, `on_result` for each.
  virtual DispatchOutcome run(const std::vector<EvalTask>& tasks,
                              const DispatchCallbacks& callbacks) = 0;
};

/// What a dispatcher of protocol tasks reports while it runs them.
struct TaskCallbacks {
  /// Before task `task` is handed to `worker` (the MPI rank).
  std::function<void(size_t task, int64_t worker)> on_start;
  /// When the result of task `task` comes back (in any order).
  std::function<void(size_t task, const ResultMessage& result)> on_result;
};

/// A dispatcher whose workers are other processes: besides the search's candidates
/// (run) it hands out protocol tasks as they are, such as a pipeline's final models,
/// whose results carry the saved files.
class RemoteDispatcher : public Dispatcher {
 public:
  /// Hands each task to the next idle worker and reports each result; stops as run() does.
  virtual DispatchOutcome run_tasks(const std::vector<TaskMessage>& tasks,
                                    const TaskCallbacks& callbacks) = 0;
};

/// Evaluates the tasks one after the other in this process (worker 0), polling
/// `stop` before each.
class SerialDispatcher : public Dispatcher {
 public:
  explicit SerialDispatcher(Evaluator& evaluator, const std::atomic<bool>* stop = nullptr)
      : evaluator_(evaluator), stop_(stop) {}
  int64_t workers() const override { return 1; }
  DispatchOutcome run(const std::vector<EvalTask>& tasks,
                      const DispatchCallbacks& callbacks) override;

 private:
  Evaluator& evaluator_;
  const std::atomic<bool>* stop_;
};

}  // namespace frostnas
