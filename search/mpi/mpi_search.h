#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "search/driver/dispatcher.h"
#include "search/driver/search_config.h"

namespace frostnas {

/// This process's place in an MPI job. Construction initialises MPI (only the
/// calling thread talks to it); destruction finalises it.
class MpiWorld {
 public:
  MpiWorld();
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::string host() const;
  /// Ends every process of the job with exit status `code` (MPI_Abort).
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

/// Rank 0's dispatcher: hands each task of a batch to the next idle worker
/// (ranks 1..N-1) and collects the results as they come. Rank 0 never trains.
class MpiDispatcher : public RemoteDispatcher {
 public:
  /// Greets every worker with the program version and the configuration, and checks
  /// the version, configuration hash and data checksum each reports against the
  /// greeting's. On a mismatch, a worker that could not start, or no
  /// answer within `deadline_s`, every worker is told to stop and InputError
  /// names the first offending worker in one line.
  MpiDispatcher(const MpiWorld& world, WorkerGreeting greeting, double deadline_s,
                const std::atomic<bool>* stop = nullptr);
  /// Tells the idle workers to stop (see shutdown()).
  ~MpiDispatcher() override;

  int64_t workers() const override { return world_.size() - 1; }
  /// On a stop request every task still out is reported `stuck`: under mpirun a
  /// stop is also how the job ends when a worker dies, so those attempts count.
  DispatchOutcome run(const std::vector<EvalTask>& tasks,
                      const DispatchCallbacks& callbacks) override;
  DispatchOutcome run_tasks(const std::vector<TaskMessage>& tasks,
                            const TaskCallbacks& callbacks) override;
  /// True while a worker holds a task (after a stop or a missed deadline).
  bool busy() const { return !busy_.empty(); }
  /// Tells every idle worker the run is over; returns false when some are busy
  /// (only MpiWorld::abort ends those).
  bool shutdown();

 private:
  struct Held {
    size_t task = 0;
    int64_t candidate_id = 0;
    int64_t seq = 0;
    std::chrono::steady_clock::time_point since;
  };
  void handshake();
  std::string describe(int worker) const;

  const MpiWorld& world_;
  double deadline_s_;
  const std::atomic<bool>* stop_;
  WorkerGreeting greeting_;
  std::map<int, std::string> hosts_;
  std::map<int, Held> busy_;
  bool stopped_ = false;
};

/// Tells every worker of a job whose rank 0 stops before the handshake to stop.
void stop_workers(const MpiWorld& world);

/// Rank 0's dispatcher once every worker has answered the greeting `prepare` returns
/// (it loads the configuration and data; the store is left to the caller). A job of one
/// process is refused with InputError; when `prepare` throws, the workers are told to
/// stop and the exception propagates.
std::unique_ptr<MpiDispatcher> greet_workers(const MpiWorld& world,
                                             const std::function<WorkerGreeting()>& prepare,
                                             double deadline_s, const std::atomic<bool>* stop);

/// A worker's whole run (rank > 0): waits for rank 0's greeting, sets `jobs` up with
/// it, reports, then performs the tasks it is sent until told to stop. Test hooks
/// (environment): FROSTNAS_TEST_KILL_AT_SEQ=N makes it kill itself (SIGKILL) on
/// receiving the task of sequence number N, and FROSTNAS_TEST_HANG_AT_SEQ=N makes it
/// stop answering there.
void serve_worker(const MpiWorld& world, WorkerJobs& jobs);

/// A search worker (serve_worker): loads `config_path` (the --config this rank was started
/// with; `weights`, the rank's --weight-quant, replaces its train.weight_quant as on rank 0)
/// or else takes rank 0's configuration, loads its data, reports version, configuration hash
/// and data checksum, then trains the tasks it is sent until told to stop. It never opens the
/// store and never measures latency.
void serve_search_worker(const MpiWorld& world, const std::optional<std::string>& config_path,
                         std::optional<WeightQuant> weights = std::nullopt);

}  // namespace frostnas
