#include "search/driver/search_driver.h"

#include <cmath>

#include "controllers/reward.h"
#include "controllers/strategy.h"
#include "space/error.h"

namespace frostnas {

uint64_t candidate_seed(uint64_t seed, const std::string& arch_hash) {
  uint64_t h = std::stoull(arch_hash, nullptr, 16);
  h ^= seed + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h & 0x7fffffffffffffffULL;
}

SearchSummary run_search(const SearchConfig& config, Store& store, Evaluator& evaluator,
                         const LatencyFn& latency, std::optional<int64_t> resume_id,
                         const SearchHooks& hooks) {
  SearchSummary summary;
  const nlohmann::json config_json = config.to_json();
  if (resume_id) {
    const ExperimentRecord e = store.get_experiment(*resume_id);
    if (e.kind != "search") {
      throw InputError(store.path() + ": experiment " + std::to_string(*resume_id) + " is a " +
                       e.kind + ", not a search");
    }
    if (e.config != config_json) {
      throw InputError("--resume " + std::to_string(*resume_id) +
                       ": the configuration differs from the one the experiment was started with");
    }
    summary.experiment_id = e.id;
    store.set_experiment_status(e.id, "running");
  } else {
    ExperimentRecord e;
    e.kind = "search";
    e.name = config.name;
    e.config = config_json;
    e.seed = static_cast<int64_t>(config.seed);
    e.program_version = FROSTNAS_VERSION;
    summary.experiment_id = store.create_experiment(e).id;
  }
  const int64_t id = summary.experiment_id;

  auto strategy =
      make_strategy(config.strategy, config.space, config.seed, config.strategy_options);
  int64_t step = 0;
  if (auto saved = store.load_strategy_state(id)) {
    strategy->load_state(saved->state);
    step = saved->step;
  }
  const RewardOptions reward_options =
      RewardOptions::named(config.latency.constraint, config.latency.target_ms);
  double best_reward = -INFINITY;
  for (const auto& c : store.top_candidates(id, 1)) {
    best_reward = *c.reward;
    summary.best = c;
  }
  store.log_event(id, "info",
                  (resume_id ? "resumed at step " : "started, steps ") + std::to_string(step) +
                      "/" + std::to_string(config.samples));

  while (step < config.samples) {
    if (hooks.stop && hooks.stop->load()) {
      summary.interrupted = true;
      break;
    }
    const Choices choices = strategy->propose();
    const NetSpec net = decode(config.space, choices);
    const std::string hash = arch_hash(net);
    SearchStep info;
    info.total = config.samples;
    std::optional<CandidateRecord> existing = store.find_candidate_by_hash(id, hash);
    if (existing && (existing->status == "done" || existing->status == "failed")) {
      const double reward = existing->reward.value_or(config.failure_reward);
      strategy->observe(choices, reward);
      ++step;
      StrategyState state;
      state.experiment_id = id;
      state.step = step;
      state.state = strategy->state();
      store.save_strategy_state(state);
      ++summary.reused;
      info.reused = true;
      info.candidate = *existing;
      info.reward = reward;
    } else {
      const double predicted = latency(net);
      const CandidateRecord candidate =
          existing ? *existing : store.add_candidate(id, net, predicted);
      store.mark_running(candidate.id);
      const Evaluation e = evaluator.evaluate(net, candidate_seed(config.seed, hash));
      if (e.interrupted) {
        summary.interrupted = true;
        break;
      }
      const double acc = accuracy_of(e, config.metric);
      const bool failed = e.failed || !std::isfinite(acc);
      const double reward =
          failed ? config.failure_reward : mnas_reward(acc / 100.0, predicted, reward_options);
      strategy->observe(choices, reward);
      ++step;
      CandidateResult result;
      result.candidate_id = candidate.id;
      result.status = failed ? "failed" : "done";
      auto opt = [](double v) {
        return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
      };
      result.fp32_acc = opt(e.fp32_acc);
      result.qat_acc = opt(e.qat_acc);
      result.int8_acc = opt(e.int8_acc);
      result.predicted_latency_ms = predicted;
      result.reward = reward;
      result.train_seconds = e.train_seconds;
      result.error =
          failed ? (e.error.empty() ? "no " + to_string(config.metric) + " accuracy" : e.error)
                 : "";
      StrategyState state;
      state.experiment_id = id;
      state.step = step;
      state.state = strategy->state();
      store.commit_result(result, state);
      if (failed)
        store.log_event(id, "warning",
                        "candidate " + std::to_string(candidate.seq) + " failed: " + result.error);
      ++summary.evaluated;
      info.candidate = store.get_candidate(candidate.id);
      info.reward = reward;
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
  store.set_experiment_status(id, summary.interrupted ? "interrupted" : "done");
  store.log_event(id, "info",
                  std::string(summary.interrupted ? "interrupted" : "finished") + " at step " +
                      std::to_string(step));
  return summary;
}

}  // namespace frostnas
