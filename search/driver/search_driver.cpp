#include "search/driver/search_driver.h"

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

/// Creates the search experiment, or checks the one being resumed against `config`.
int64_t open_search_experiment(const SearchConfig& config, Store& store,
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
  return e.id;
}

StrategyState strategy_state(int64_t id, int64_t step, const Strategy& strategy) {
  StrategyState state;
  state.experiment_id = id;
  state.step = step;
  state.state = strategy.state();
  state.blob = strategy.state_blob();
  return state;
}

/// The stored result of an architecture already evaluated in this experiment, given to the
/// strategy again as one step.
void observe_repeat(const SearchConfig& config, Store& store, int64_t id, Strategy& strategy,
                    const Choices& choices, const CandidateRecord& existing, int64_t& step,
                    SearchStep& info) {
  const double reward = existing.reward.value_or(config.failure_reward);
  strategy.observe(choices, reward);
  ++step;
  store.save_strategy_state(strategy_state(id, step, strategy));
  info.reused = true;
  info.candidate = existing;
  info.reward = reward;
}

/// The result record of an evaluation and its reward.
CandidateResult candidate_result(const SearchConfig& config, const Evaluation& e,
                                 int64_t candidate_id, double predicted,
                                 const RewardOptions& reward_options) {
  const double acc = accuracy_of(e, config.metric);
  const bool failed = e.failed || !std::isfinite(acc);
  auto opt = [](double v) { return std::isfinite(v) ? std::optional<double>(v) : std::nullopt; };
  CandidateResult result;
  result.candidate_id = candidate_id;
  result.status = failed ? CandidateStatus::kFailed : CandidateStatus::kDone;
  result.fp32_acc = opt(e.fp32_acc);
  result.qat_acc = opt(e.qat_acc);
  result.int8_acc = opt(e.int8_acc);
  result.predicted_latency_ms = predicted;
  result.reward =
      failed ? config.failure_reward : mnas_reward(acc / 100.0, predicted, reward_options);
  result.train_seconds = e.train_seconds;
  result.error =
      failed ? (e.error.empty() ? "no " + to_string(config.metric) + " accuracy" : e.error) : "";
  return result;
}

/// Trains and scores a new architecture, then commits its result with the strategy's state
/// in one transaction. Returns false when the evaluation was interrupted.
bool evaluate_new(const SearchConfig& config, Store& store, int64_t id, Strategy& strategy,
                  Evaluator& evaluator, const LatencyFn& latency, const NetSpec& net,
                  const std::string& hash, const Choices& choices,
                  const std::optional<CandidateRecord>& existing, int64_t& step, SearchStep& info) {
  const double predicted = latency(net);
  const CandidateRecord candidate =
      existing ? *existing : store.add_candidate(id, to_json(net), hash, predicted);
  store.mark_running(candidate.id);
  const Evaluation e = evaluator.evaluate(net, candidate_seed(config.seed, hash));
  if (e.interrupted) return false;
  const CandidateResult result =
      candidate_result(config, e, candidate.id, predicted,
                       RewardOptions::named(config.latency.constraint, config.latency.target_ms));
  strategy.observe(choices, *result.reward);
  ++step;
  store.commit_result(result, strategy_state(id, step, strategy));
  if (result.status == CandidateStatus::kFailed)
    store.log_event(id, EventLevel::kWarning,
                    "candidate " + std::to_string(candidate.seq) + " failed: " + result.error);
  info.candidate = store.get_candidate(candidate.id);
  info.reward = *result.reward;
  return true;
}

}  // namespace

SearchSummary run_search(const SearchConfig& config, Store& store, Evaluator& evaluator,
                         const LatencyFn& latency, std::optional<int64_t> resume_id,
                         const SearchHooks& hooks) {
  SearchSummary summary;
  const int64_t id = summary.experiment_id = open_search_experiment(config, store, resume_id);
  auto strategy =
      make_strategy(config.strategy, config.space, config.seed, config.strategy_options);
  int64_t step = 0;
  if (auto saved = store.load_strategy_state(id)) {
    strategy->load_state(saved->state, saved->blob);
    step = saved->step;
  }
  double best_reward = -INFINITY;
  for (const auto& c : store.top_candidates(id, 1)) {
    best_reward = *c.reward;
    summary.best = c;
  }
  store.log_event(id, EventLevel::kInfo,
                  (resume_id ? "resumed at step " : "started, steps ") + std::to_string(step) +
                      "/" + std::to_string(config.samples));

  while (step < config.samples) {
    if (hooks.stop && hooks.stop->load()) {
      summary.interrupted = true;
      break;
    }
    const Choices choices = strategy->propose();
    const NetSpec net = decode(config.space, choices);
    SearchStep info;
    info.total = config.samples;
    const std::string hash = arch_hash(net);
    const std::optional<CandidateRecord> existing = store.find_candidate_by_hash(id, hash);
    if (existing && is_finished(existing->status)) {
      observe_repeat(config, store, id, *strategy, choices, *existing, step, info);
      ++summary.reused;
    } else if (evaluate_new(config, store, id, *strategy, evaluator, latency, net, hash, choices,
                            existing, step, info)) {
      ++summary.evaluated;
    } else {
      summary.interrupted = true;
      break;
    }
    if (info.reward > best_reward) {
      best_reward = info.reward;
      summary.best = info.candidate;
    }
    info.step = step;
    info.best_reward = best_reward;
    if (hooks.on_step) hooks.on_step(info);
  }
  summary.steps = step;
  store.set_experiment_status(
      id, summary.interrupted ? ExperimentStatus::kInterrupted : ExperimentStatus::kDone);
  store.log_event(id, EventLevel::kInfo,
                  std::string(summary.interrupted ? "interrupted" : "finished") + " at step " +
                      std::to_string(step));
  return summary;
}

}  // namespace frostnas
