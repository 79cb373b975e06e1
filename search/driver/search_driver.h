#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "search/driver/dispatcher.h"
#include "search/driver/evaluator.h"
#include "search/driver/search_config.h"
#include "search/store/store.h"

namespace frostnas {

/// Predicted latency of an architecture (milliseconds, or the stand-in unit).
using LatencyFn = std::function<double(const NetSpec&)>;

/// One finished step of a search, for status lines and progress bars.
struct SearchStep {
  int64_t step = 0;   ///< 1-based proposals done
  int64_t total = 0;  ///< the configuration's samples
  CandidateRecord candidate;
  bool reused = false;  ///< a repeated architecture: its earlier result was reused
  double reward = 0.0;
  double best_reward = 0.0;
};

struct SearchHooks {
  std::function<void(const SearchStep&)> on_step;
  /// Polled before each proposal; the evaluator gets it too.
  const std::atomic<bool>* stop = nullptr;
};

/// What a search run did.
struct SearchSummary {
  int64_t experiment_id = 0;
  int64_t steps = 0;      ///< proposals done in total (resumed runs included)
  int64_t evaluated = 0;  ///< candidates evaluated by this run
  int64_t reused = 0;     ///< proposals answered from an earlier result by this run
  bool interrupted = false;
  bool timed_out = false;  ///< a worker missed its deadline (interrupted too)
  std::string message;     ///< why it stopped early (one line), empty otherwise
  std::optional<CandidateRecord> best;
};

/// Evaluation attempts after which a candidate still unfinished (its earlier
/// attempts crashed their worker or the whole run) is recorded failed instead.
constexpr int64_t kMaxAttempts = 2;

/// Runs (or, with `resume_id`, continues) a search: the strategy proposes
/// `config.batch` architectures at a time, each new architecture is evaluated once
/// per experiment (by hash; repeats reuse the result) by `dispatcher`, the reward
/// is ACC * (LAT / T)^w, and results are committed in proposal order, the batch's
/// last one in one transaction with the strategy state after the batch. Each
/// candidate is marked running with its worker and attempt before it is handed
/// out. After a kill at any moment, resuming re-queues the candidates left
/// running, re-evaluates at most those, records failed one whose kMaxAttempts
/// attempts all crashed, and, with the same seed and batch size, ends where an
/// uninterrupted run would, whatever the number of workers.
SearchSummary run_search(const SearchConfig& config, Store& store, Dispatcher& dispatcher,
                         const LatencyFn& latency, std::optional<int64_t> resume_id = std::nullopt,
                         const SearchHooks& hooks = {});
/// The same, evaluating in this process with `evaluator` (SerialDispatcher).
SearchSummary run_search(const SearchConfig& config, Store& store, Evaluator& evaluator,
                         const LatencyFn& latency, std::optional<int64_t> resume_id = std::nullopt,
                         const SearchHooks& hooks = {});

/// The training seed of a candidate: a function of the run seed and the
/// architecture only, so that re-evaluations and resumed runs agree.
uint64_t candidate_seed(uint64_t seed, const std::string& arch_hash);

}  // namespace frostnas
