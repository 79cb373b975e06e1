#include "search/mpi/mpi_search.h"

// The MPI C API only: Open MPI's mpi.h otherwise pulls in its deprecated C++ bindings, which
// need libmpi_cxx at link time.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "common/error.h"
#include "search/driver/worker_protocol.h"
#include "trainer/train/train_config.h"
#include "trainer/train/train_model.h"

namespace frostnas {

namespace {

constexpr int kTagToWorker = 1;
constexpr int kTagToRoot = 2;
// Polling instead of blocking receives: Open MPI spins in a blocking receive,
// which would take a core from the training next to it.
constexpr auto kPoll = std::chrono::milliseconds(2);

void send_text(int dest, int tag, const std::string& text) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

/// A waiting message with `tag` from `source` (or any), received; empty if none.
std::optional<std::pair<int, std::string>> poll_text(int source, int tag) {
  int flag = 0;
  MPI_Status status;
  MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, &status);
  if (!flag) return std::nullopt;
  int n = 0;
  MPI_Get_count(&status, MPI_CHAR, &n);
  std::string text(static_cast<size_t>(n), '\0');
  MPI_Recv(text.data(), n, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return std::make_pair(status.MPI_SOURCE, std::move(text));
}

std::string wait_text(int source, int tag) {
  for (;;) {
    if (auto m = poll_text(source, tag)) return std::move(m->second);
    std::this_thread::sleep_for(kPoll);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int64_t env_seq(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : -1;
}

}  // namespace

MpiWorld::MpiWorld() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() { MPI_Finalize(); }

std::string MpiWorld::host() const {
  char name[MPI_MAX_PROCESSOR_NAME];
  int n = 0;
  MPI_Get_processor_name(name, &n);
  return std::string(name, static_cast<size_t>(n));
}

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

MpiDispatcher::MpiDispatcher(const MpiWorld& world, WorkerGreeting greeting, double deadline_s,
                             const std::atomic<bool>* stop)
    : world_(world), deadline_s_(deadline_s), stop_(stop), greeting_(std::move(greeting)) {
  try {
    handshake();
  } catch (...) {
    shutdown();
    throw;
  }
}

MpiDispatcher::~MpiDispatcher() { shutdown(); }

std::string MpiDispatcher::describe(int worker) const {
  const auto it = hosts_.find(worker);
  return "worker " + std::to_string(worker) +
         (it == hosts_.end() || it->second.empty() ? "" : " (" + it->second + ")");
}

void MpiDispatcher::handshake() {
  const std::string hello = encode(HelloMessage{program_version(), greeting_.config});
  for (int w = 1; w < world_.size(); ++w) send_text(w, kTagToWorker, hello);
  const std::string& hash = greeting_.config_hash;
  const std::string& data_checksum = greeting_.data_checksum;
  const auto start = std::chrono::steady_clock::now();
  for (int answered = 0; answered < world_.size() - 1;) {
    auto m = poll_text(MPI_ANY_SOURCE, kTagToRoot);
    if (!m) {
      if (deadline_s_ > 0 && seconds_since(start) > deadline_s_) {
        throw InputError("MPI workers: " + std::to_string(world_.size() - 1 - answered) +
                         " worker(s) did not report within " + std::to_string(deadline_s_) +
                         " s (--worker-deadline)");
      }
      std::this_thread::sleep_for(kPoll);
      continue;
    }
    const int w = m->first;
    const ReadyMessage r = decode_ready(m->second, "worker " + std::to_string(w));
    hosts_[w] = r.host;
    ++answered;
    const std::string who = describe(w);
    if (!r.error.empty()) throw InputError(who + ": " + r.error);
    if (r.version != program_version()) {
      throw InputError(who + ": program version " + r.version + " differs from rank 0's " +
                       program_version() + " (install one frostnas on every node)");
    }
    if (r.config_hash != hash) {
      throw InputError(who + ": configuration hash " + r.config_hash + " differs from rank 0's " +
                       hash + " (give every rank the same --config file)");
    }
    if (r.data_checksum != data_checksum) {
      throw InputError(who + ": data checksum " + r.data_checksum + " differs from rank 0's " +
                       data_checksum + " (every node needs the same data set files)");
    }
  }
}

bool MpiDispatcher::shutdown() {
  if (stopped_) return busy_.empty();
  for (int w = 1; w < world_.size(); ++w) {
    if (!busy_.count(w)) send_text(w, kTagToWorker, encode_stop());
  }
  stopped_ = true;
  return busy_.empty();
}

DispatchOutcome MpiDispatcher::run(const std::vector<EvalTask>& tasks,
                                   const DispatchCallbacks& callbacks) {
  std::vector<TaskMessage> messages;
  for (const EvalTask& t : tasks) {
    messages.push_back(TaskMessage{t.candidate_id, t.seq, t.attempt, to_json(t.net), t.seed,
                                   greeting_.train, kJobEvaluate});
  }
  TaskCallbacks task_callbacks;
  task_callbacks.on_start = callbacks.on_start;
  task_callbacks.on_result = [&](size_t task, const ResultMessage& r) {
    callbacks.on_result(task, r.evaluation);
  };
  return run_tasks(messages, task_callbacks);
}

DispatchOutcome MpiDispatcher::run_tasks(const std::vector<TaskMessage>& tasks,
                                         const TaskCallbacks& callbacks) {
  DispatchOutcome outcome;
  size_t next = 0;
  size_t done = 0;
  while (done < tasks.size()) {
    if (stop_ && stop_->load()) {
      outcome.status = DispatchStatus::kInterrupted;
      outcome.message = "stopped on request";
      for (const auto& [w, held] : busy_) outcome.stuck.push_back(held.task);
      return outcome;
    }
    for (int w = 1; w < world_.size() && next < tasks.size(); ++w) {
      if (busy_.count(w)) continue;
      const TaskMessage& t = tasks[next];
      callbacks.on_start(next, w);
      send_text(w, kTagToWorker, encode(t));
      busy_[w] = {next, t.candidate_id, t.seq, std::chrono::steady_clock::now()};
      ++next;
    }
    if (auto m = poll_text(MPI_ANY_SOURCE, kTagToRoot)) {
      const int w = m->first;
      const ResultMessage r = decode_result(m->second, describe(w));
      const auto it = busy_.find(w);
      if (it == busy_.end() || it->second.candidate_id != r.candidate_id) {
        throw std::logic_error(describe(w) + " answered candidate " +
                               std::to_string(r.candidate_id) + ", which it was not given");
      }
      const size_t task = it->second.task;
      busy_.erase(it);
      callbacks.on_result(task, r);
      ++done;
      continue;
    }
    for (const auto& [w, held] : busy_) {
      if (deadline_s_ > 0 && seconds_since(held.since) > deadline_s_) {
        outcome.status = DispatchStatus::kTimedOut;
        outcome.message = describe(w) + " did not answer within " +
                          std::to_string(static_cast<int64_t>(deadline_s_)) + " s (candidate " +
                          std::to_string(held.seq) + ", --worker-deadline)";
        outcome.stuck.push_back(held.task);
        return outcome;
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
  return outcome;
}

namespace {

/// A search's worker: its configuration and data, or the one-line reason it has none.
class SearchWorkerJobs : public WorkerJobs {
 public:
  SearchWorkerJobs(std::optional<std::string> config_path, std::optional<WeightQuant> weights)
      : config_path_(std::move(config_path)), weights_(weights) {}

  ReadyMessage set_up(const HelloMessage& hello) override {
    ReadyMessage ready;
    ready.version = program_version();
    try {
      SearchConfig config =
          config_path_ ? load_search_config(*config_path_)
                       : search_config_from_json(hello.config, "rank 0's configuration", ".");
      if (config_path_ && weights_) config.train.weight_quant = *weights_;
      ready.config_hash = config_hash(config);
      ready.threads = config.train.threads;
      configure_runtime(config.train.threads);
      torch::manual_seed(config.seed);
      data_ = search_data(config);
      ready.data_checksum = data_checksum(data_);
    } catch (const std::exception& e) {
      ready.error = first_line(e);
    }
    return ready;
  }

  ResultMessage perform(const TaskMessage& task) override {
    ResultMessage result{task.candidate_id, {}, {}};
    if (task.job != kJobEvaluate) {
      result.evaluation.failed = true;
      result.evaluation.error = "a search worker performs no \"" + task.job + "\" job";
      return result;
    }
    result.evaluation = evaluate_task(data_, task);
    return result;
  }

 private:
  std::optional<std::string> config_path_;
  std::optional<WeightQuant> weights_;
  DataSplits data_;
};

}  // namespace

void stop_workers(const MpiWorld& world) {
  for (int w = 1; w < world.size(); ++w) send_text(w, kTagToWorker, encode_stop());
}

std::unique_ptr<MpiDispatcher> greet_workers(const MpiWorld& world,
                                             const std::function<WorkerGreeting()>& prepare,
                                             double deadline_s, const std::atomic<bool>* stop) {
  WorkerGreeting greeting;
  try {
    if (world.size() < 2) {
      throw InputError(
          "--workers mpi: the MPI job has 1 process and so no worker (start 2 or "
          "more: mpirun -np N, rank 0 drives, ranks 1..N-1 train)");
    }
    greeting = prepare();
  } catch (...) {
    stop_workers(world);
    throw;
  }
  // From here on the dispatcher tells the workers to stop.
  return std::make_unique<MpiDispatcher>(world, std::move(greeting), deadline_s, stop);
}

void serve_worker(const MpiWorld& world, WorkerJobs& jobs) {
  std::string text = wait_text(0, kTagToWorker);
  if (message_type(text, "rank 0") == "stop") return;
  ReadyMessage ready = jobs.set_up(decode_hello(text, "rank 0"));
  ready.host = world.host();
  send_text(0, kTagToRoot, encode(ready));
  for (;;) {
    text = wait_text(0, kTagToWorker);
    if (message_type(text, "rank 0") == "stop") return;
    if (!ready.error.empty()) continue;
    const TaskMessage task = decode_task(text, "rank 0");
    if (task.seq == env_seq("FROSTNAS_TEST_KILL_AT_SEQ")) ::raise(SIGKILL);
    if (task.seq == env_seq("FROSTNAS_TEST_HANG_AT_SEQ")) {
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    send_text(0, kTagToRoot, encode(jobs.perform(task)));
  }
}

void serve_search_worker(const MpiWorld& world, const std::optional<std::string>& config_path,
                         std::optional<WeightQuant> weights) {
  SearchWorkerJobs jobs(config_path, weights);
  serve_worker(world, jobs);
}

}  // namespace frostnas
