#include "search/driver/search_driver.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "controllers/reward.h"
#include "controllers/strategy.h"

namespace frostnas {

uint64_t candidate_seed(uint64_t seed, const std::string& arch_hash) {
  uint64_t h = std::stoull(arch_hash, nullptr, 16);
  h ^= seed + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h & 0x7fffffffffffffffULL;
}

namespace {

/// One proposal of a batch and what becomes of it.
struct Proposal {
  enum class Kind {
    kReused,    ///< the experiment already has its result
    kRepeat,    ///< the same architecture as an earlier proposal of the batch
    kEvaluate,  ///< handed to the dispatcher
    kGaveUp,    ///< kMaxAttempts attempts crashed: recorded failed without a new one
  };
  Choices choices;
  NetSpec net;
  std::string hash;
  Kind kind = Kind::kEvaluate;
  size_t same_as = 0;  ///< kRepeat: the earlier proposal
  CandidateRecord candidate;
  double predicted = 0.0;
  std::optional<CandidateResult> result;  ///< kEvaluate, kGaveUp: once known
  bool committed = false;
  double reward = 0.0;
};

int64_t open_experiment(const SearchConfig& config, Store& store,
                        std::optional<int64_t> resume_id) {
  const nlohmann::json config_json = config.to_json();
  if (!resume_id) {
    ExperimentRecord e;
    e.kind = "search";
    e.name = config.name;
    e.config = config_json;
    e.seed = static_cast<int64_t>(config.seed);
    e.program_version = FROSTNAS_VERSION;
    return store.create_experiment(e).id;
  }
  const ExperimentRecord e = store.get_experiment(*resume_id);
  if (e.kind != "search") {
    throw InputError(store.path() + ": experiment " + std::to_string(*resume_id) + " is a " +
                     e.kind + ", not a search");
  }
  if (e.config != config_json) {
    throw InputError("--resume " + std::to_string(*resume_id) +
                     ": the configuration differs from the one the experiment was started with");
  }
  store.set_experiment_status(e.id, ExperimentStatus::kRunning);
  const int64_t requeued = store.requeue_running(e.id);
  if (requeued > 0) {
    store.log_event(e.id, EventLevel::kWarning,
                    std::to_string(requeued) + " candidate(s) left running by a crash re-queued");
  }
  return e.id;
}

/// The whole search: named steps over one batch at a time.
class SearchRun {
 public:
  SearchRun(const SearchConfig& config, Store& store, Dispatcher& dispatcher,
            const LatencyFn& latency, const SearchHooks& hooks)
      : config_(config),
        store_(store),
        dispatcher_(dispatcher),
        latency_(latency),
        hooks_(hooks),
        reward_options_(RewardOptions::named(config.latency.constraint, config.latency.target_ms)) {
  }

  SearchSummary run(std::optional<int64_t> resume_id) {
    summary_.experiment_id = id_ = open_experiment(config_, store_, resume_id);
    strategy_ =
        make_strategy(config_.strategy, config_.space, config_.seed, config_.strategy_options);
    if (auto saved = store_.load_strategy_state(id_)) {
      strategy_->load_state(saved->state, saved->blob);
      step_ = saved->step;
    }
    for (const auto& c : store_.top_candidates(id_, 1)) {
      best_reward_ = *c.reward;
      summary_.best = c;
    }
    store_.log_event(id_, EventLevel::kInfo,
                     (resume_id ? "resumed at step " : "started, steps ") + std::to_string(step_) +
                         "/" + std::to_string(config_.samples));
    while (step_ < config_.samples) {
      if (hooks_.stop && hooks_.stop->load()) {
        summary_.interrupted = true;
        summary_.message = "stopped on request";
        break;
      }
      if (!run_batch(std::min(config_.batch, config_.samples - step_))) break;
    }
    summary_.steps = step_;
    store_.set_experiment_status(
        id_, summary_.interrupted ? ExperimentStatus::kInterrupted : ExperimentStatus::kDone);
    if (summary_.timed_out) store_.log_event(id_, EventLevel::kError, summary_.message);
    store_.log_event(id_, EventLevel::kInfo,
                     std::string(summary_.interrupted ? "interrupted" : "finished") + " at step " +
                         std::to_string(step_));
    return summary_;
  }

 private:
  /// Proposes, evaluates, observes and commits one batch of `k`; false when the
  /// run stops in the middle of it.
  bool run_batch(int64_t k) {
    batch_.clear();
    for (Choices& choices : strategy_->propose(k)) plan(std::move(choices));
    std::vector<EvalTask> tasks;
    std::vector<size_t> task_proposal;
    for (size_t i = 0; i < batch_.size(); ++i) {
      const Proposal& p = batch_[i];
      if (p.kind != Proposal::Kind::kEvaluate) continue;
      tasks.push_back({p.candidate.id, p.candidate.seq, p.candidate.attempts + 1, p.net,
                       candidate_seed(config_.seed, p.hash)});
      task_proposal.push_back(i);
    }
    commit_ready();
    DispatchCallbacks callbacks;
    callbacks.on_start = [&](size_t t, int64_t worker) {
      store_.mark_running(tasks[t].candidate_id, worker);
    };
    callbacks.on_result = [&](size_t t, const Evaluation& e) {
      Proposal& p = batch_[task_proposal[t]];
      p.result = make_result(p, e);
      commit_ready();
    };
    const DispatchOutcome outcome = dispatcher_.run(tasks, callbacks);
    if (outcome.status != DispatchStatus::kDone) {
      abandon(outcome, tasks);
      return false;
    }
    finish_batch();
    return true;
  }

  void plan(Choices choices) {
    Proposal p;
    p.net = decode(config_.space, choices);
    p.choices = std::move(choices);
    p.hash = arch_hash(p.net);
    for (size_t j = 0; j < batch_.size(); ++j) {
      if (batch_[j].hash == p.hash) {
        p.kind = Proposal::Kind::kRepeat;
        p.same_as = j;
        batch_.push_back(std::move(p));
        return;
      }
    }
    std::optional<CandidateRecord> existing = store_.find_candidate_by_hash(id_, p.hash);
    if (existing && is_finished(existing->status)) {
      p.kind = Proposal::Kind::kReused;
      p.candidate = *existing;
      p.reward = existing->reward.value_or(config_.failure_reward);
      batch_.push_back(std::move(p));
      return;
    }
    p.predicted = latency_(p.net);
    p.candidate = existing ? *existing : store_.add_candidate(id_, p.net, p.predicted);
    if (p.candidate.attempts >= kMaxAttempts) {
      p.kind = Proposal::Kind::kGaveUp;
      Evaluation e;
      e.failed = true;
      e.error = "killed its worker " + std::to_string(p.candidate.attempts) +
                " times (last on worker " + std::to_string(p.candidate.worker.value_or(0)) + ")";
      p.result = make_result(p, e);
    }
    batch_.push_back(std::move(p));
  }

  CandidateResult make_result(Proposal& p, const Evaluation& e) const {
    const double acc = accuracy_of(e, config_.metric);
    const bool failed = e.failed || !std::isfinite(acc);
    p.reward =
        failed ? config_.failure_reward : mnas_reward(acc / 100.0, p.predicted, reward_options_);
    auto opt = [](double v) { return std::isfinite(v) ? std::optional<double>(v) : std::nullopt; };
    CandidateResult result;
    result.candidate_id = p.candidate.id;
    result.status = failed ? CandidateStatus::kFailed : CandidateStatus::kDone;
    result.fp32_acc = opt(e.fp32_acc);
    result.qat_acc = opt(e.qat_acc);
    result.int8_acc = opt(e.int8_acc);
    result.predicted_latency_ms = p.predicted;
    result.reward = p.reward;
    result.train_seconds = e.train_seconds;
    result.error =
        failed ? (e.error.empty() ? "no " + to_string(config_.metric) + " accuracy" : e.error) : "";
    return result;
  }

  /// Commits, in proposal order, the results known so far, all but the batch's
  /// last: that one goes with the strategy state (finish_batch).
  void commit_ready() {
    std::vector<size_t> order;
    for (size_t i = 0; i < batch_.size(); ++i) {
      const auto kind = batch_[i].kind;
      if (kind == Proposal::Kind::kEvaluate || kind == Proposal::Kind::kGaveUp) order.push_back(i);
    }
    for (size_t n = 0; n + 1 < order.size(); ++n) {
      Proposal& p = batch_[order[n]];
      if (p.committed) continue;
      if (!p.result) return;
      store_.finish_candidate(*p.result);
      p.committed = true;
      after_commit(p);
    }
  }

  void after_commit(const Proposal& p) {
    ++summary_.evaluated;
    if (p.result->status == CandidateStatus::kFailed) {
      store_.log_event(
          id_, EventLevel::kWarning,
          "candidate " + std::to_string(p.candidate.seq) + " failed: " + p.result->error);
    }
  }

  /// Observes the whole batch, commits its last result with the new strategy
  /// state, and reports each proposal in order.
  void finish_batch() {
    std::vector<Choices> choices;
    std::vector<double> rewards;
    for (Proposal& p : batch_) {
      if (p.kind == Proposal::Kind::kRepeat) p.reward = batch_[p.same_as].reward;
      choices.push_back(p.choices);
      rewards.push_back(p.reward);
    }
    strategy_->observe(choices, rewards);
    const int64_t first_step = step_;
    step_ += static_cast<int64_t>(batch_.size());
    StrategyState state;
    state.experiment_id = id_;
    state.step = step_;
    state.state = strategy_->state();
    state.blob = strategy_->state_blob();
    Proposal* last = nullptr;
    for (Proposal& p : batch_) {
      if (p.result && !p.committed) last = &p;
    }
    if (last) {
      store_.commit_result(*last->result, state);
      last->committed = true;
      after_commit(*last);
    } else {
      store_.save_strategy_state(state);
    }
    report(first_step);
  }

  void report(int64_t first_step) {
    for (size_t i = 0; i < batch_.size(); ++i) {
      const Proposal& p = batch_[i];
      SearchStep info;
      info.total = config_.samples;
      info.step = first_step + static_cast<int64_t>(i) + 1;
      info.reused = p.kind == Proposal::Kind::kReused || p.kind == Proposal::Kind::kRepeat;
      const Proposal& origin = p.kind == Proposal::Kind::kRepeat ? batch_[p.same_as] : p;
      info.candidate = origin.kind == Proposal::Kind::kReused
                           ? origin.candidate
                           : store_.get_candidate(origin.candidate.id);
      info.reward = p.reward;
      if (info.reused) ++summary_.reused;
      if (info.reward > best_reward_) {
        best_reward_ = info.reward;
        summary_.best = info.candidate;
      }
      info.best_reward = best_reward_;
      if (hooks_.on_step) hooks_.on_step(info);
    }
  }

  /// A batch cut short: results not committed are dropped, and the candidates that
  /// were running go back to the queue, except those of silent workers, which
  /// stay running so that the resume counts their attempt.
  void abandon(const DispatchOutcome& outcome, const std::vector<EvalTask>& tasks) {
    summary_.interrupted = true;
    summary_.timed_out = outcome.status == DispatchStatus::kTimedOut;
    summary_.message = outcome.message;
    std::vector<int64_t> stuck;
    for (size_t t : outcome.stuck) stuck.push_back(tasks[t].candidate_id);
    for (const Proposal& p : batch_) {
      if (p.kind != Proposal::Kind::kEvaluate || p.committed) continue;
      if (std::find(stuck.begin(), stuck.end(), p.candidate.id) != stuck.end()) continue;
      if (store_.get_candidate(p.candidate.id).status == CandidateStatus::kRunning)
        store_.release_candidate(p.candidate.id);
    }
  }

  const SearchConfig& config_;
  Store& store_;
  Dispatcher& dispatcher_;
  const LatencyFn& latency_;
  const SearchHooks& hooks_;
  const RewardOptions reward_options_;
  int64_t id_ = 0;
  std::unique_ptr<Strategy> strategy_;
  int64_t step_ = 0;
  double best_reward_ = -INFINITY;
  std::vector<Proposal> batch_;
  SearchSummary summary_;
};

}  // namespace

SearchSummary run_search(const SearchConfig& config, Store& store, Dispatcher& dispatcher,
                         const LatencyFn& latency, std::optional<int64_t> resume_id,
                         const SearchHooks& hooks) {
  return SearchRun(config, store, dispatcher, latency, hooks).run(resume_id);
}

SearchSummary run_search(const SearchConfig& config, Store& store, Evaluator& evaluator,
                         const LatencyFn& latency, std::optional<int64_t> resume_id,
                         const SearchHooks& hooks) {
  SerialDispatcher dispatcher(evaluator, hooks.stop);
  return run_search(config, store, dispatcher, latency, resume_id, hooks);
}

}  // namespace frostnas
