#include "search/study/study_runner.h"

#include <chrono>
#include <cmath>
#include <map>

#include "common/error.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas {

namespace {

/// One cell of the grid.
struct GridRun {
  const StudyVariant* variant;
  int64_t seed;
};

std::vector<GridRun> grid_of(const StudyConfig& c) {
  std::vector<GridRun> grid;
  for (const int64_t seed : c.seeds)
    for (const StudyVariant& v : c.variants) grid.push_back({&v, seed});
  return grid;
}

nlohmann::json run_metrics(const TrainResult& r, const DataSplits& splits) {
  return {{"split", r.eval_split},
          {"int8_acc", metric_json(r.int8_acc)},
          {"qat_acc", metric_json(r.qat_acc)},
          {"fp32_acc", metric_json(r.fp32_acc)},
          {"int8_drop", metric_json(r.fp32_acc - r.int8_acc)},
          {"val_int8_acc", metric_json(r.val.int8_acc)},
          {"val_fp32_acc", metric_json(r.val.fp32_acc)},
          {"steps", r.steps},
          {"qat_switch_step", r.qat_switch_step},
          {"train_seconds", r.train_seconds},
          {"final_train_loss", metric_json(r.final_train_loss)},
          {"train_digest", splits.train_digest},
          {"val_digest", splits.val_digest}};
}

/// Trains one run; nullopt when the stop flag cut it short.
std::optional<StudyRunRecord> train_run(const StudyConfig& c, const GridRun& g,
                                        const DataSplits& splits, int64_t experiment_id,
                                        const StudyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  TrainConfig config = g.variant->train;
  config.seed = static_cast<uint64_t>(g.seed);
  config.threads = options.threads;
  config.checkpoint_dir.clear();
  const NetSpec spec = adapt_spec_to_data(g.variant->net, splits.train, c.input_size);
  config.transform = input_transform_for(spec, splits.train, config.transform);
  TrainCallbacks callbacks;
  if (options.train_callbacks) callbacks = options.train_callbacks(*g.variant, g.seed);
  callbacks.stop_flag = options.stop;
  const TrainResult result = train_model(spec, config, splits, callbacks);
  if (result.interrupted) return std::nullopt;
  StudyRunRecord r;
  r.experiment_id = experiment_id;
  r.variant = g.variant->name;
  r.seed = g.seed;
  r.status = result.diverged ? StudyRunStatus::kFailed : StudyRunStatus::kDone;
  r.error = result.diverged_reason;
  r.metrics = run_metrics(result, splits);
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

bool stopped(const StudyOptions& options) { return options.stop && options.stop->load(); }

/// Runs the grid's unfinished runs of experiment `id`; returns false when stopped.
bool run_grid(const StudyConfig& c, Store& store, int64_t id, const StudyOptions& options) {
  std::map<std::pair<std::string, int64_t>, StudyRunRecord> finished;
  for (StudyRunRecord& r : store.list_study_runs(id)) {
    if (r.status != StudyRunStatus::kRunning) finished[{r.variant, r.seed}] = std::move(r);
  }
  const std::vector<GridRun> grid = grid_of(c);
  const int64_t total = static_cast<int64_t>(grid.size());
  std::optional<DataSplits> splits;
  int64_t splits_seed = -1;
  for (int64_t i = 0; i < total; ++i) {
    const GridRun& g = grid[static_cast<size_t>(i)];
    StudyProgress p{i, total, g.variant->name, g.seed, nullptr, false};
    const auto done = finished.find({g.variant->name, g.seed});
    if (done != finished.end()) {
      p.record = &done->second;
      p.skipped = true;
      if (options.on_progress) options.on_progress(p);
      continue;
    }
    if (stopped(options)) return false;
    if (options.on_progress) options.on_progress(p);
    if (splits_seed != g.seed) {
      splits =
          make_splits(for_network_input(c.data, c.arch.input_size, c.arch.in_channels),
                      static_cast<uint64_t>(g.seed), c.split == "test", c.name + ": $.base.data");
      splits_seed = g.seed;
    }
    StudyRunRecord running;
    running.experiment_id = id;
    running.variant = g.variant->name;
    running.seed = g.seed;
    store.put_study_run(running);
    const std::optional<StudyRunRecord> r = train_run(c, g, *splits, id, options);
    if (!r) return false;
    store.put_study_run(*r);
    p.record = &*r;
    if (options.on_progress) options.on_progress(p);
  }
  return true;
}

StudyOutcome run_experiment(const StudyConfig& c, Store& store, int64_t id,
                            const StudyOptions& options) {
  StudyOutcome out;
  out.experiment_id = id;
  out.config = c;
  try {
    out.interrupted = !run_grid(c, store, id, options);
  } catch (...) {
    store.set_experiment_status(id, ExperimentStatus::kFailed);
    throw;
  }
  store.set_experiment_status(
      id, out.interrupted ? ExperimentStatus::kInterrupted : ExperimentStatus::kDone);
  out.runs = store.list_study_runs(id);
  return out;
}

}  // namespace

StudyOutcome run_study(const StudyConfig& config, Store& store, const StudyOptions& options) {
  ExperimentRecord e;
  e.kind = kStudyExperimentKind;
  e.name = config.name;
  e.config = to_json(config);
  e.seed = config.seeds.front();
  e.program_version = FROSTNAS_VERSION;
  const int64_t id = store.create_experiment(e).id;
  return run_experiment(config, store, id, options);
}

StudyConfig load_study(const Store& store, int64_t id) {
  const ExperimentRecord e = store.get_experiment(id);
  if (e.kind != kStudyExperimentKind)
    throw InputError(store.path() + ": experiment " + std::to_string(id) + " is a " + e.kind +
                     ", not a study");
  return study_config_from_json(e.config,
                                store.path() + ": experiment " + std::to_string(id) + " config");
}

StudyOutcome resume_study(Store& store, int64_t id, const StudyOptions& options) {
  const StudyConfig config = load_study(store, id);
  store.set_experiment_status(id, ExperimentStatus::kRunning);
  return run_experiment(config, store, id, options);
}

std::optional<double> metric_value(const nlohmann::json& metrics, StudyMetric metric) {
  const auto it = metrics.find(to_string(metric));
  if (it == metrics.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

namespace {

/// The variant's values by seed, in the study's seed order.
VariantSummary summarize_variant(const StudyConfig& c, const std::string& name,
                                 const std::vector<StudyRunRecord>& runs) {
  VariantSummary s;
  s.name = name;
  for (const int64_t seed : c.seeds) {
    const StudyRunRecord* run = nullptr;
    for (const StudyRunRecord& r : runs)
      if (r.variant == name && r.seed == seed) run = &r;
    if (!run || run->status == StudyRunStatus::kRunning) {
      ++s.pending;
    } else if (run->status == StudyRunStatus::kFailed) {
      ++s.failed;
    } else if (const auto v = metric_value(run->metrics, c.metric)) {
      s.seeds.push_back(seed);
      s.values.push_back(*v);
    } else {
      ++s.failed;  // finished without the metric (e.g. its evaluation was switched off)
    }
  }
  if (!s.values.empty()) s.summary = summarize(s.values);
  return s;
}

ComparisonResult compare_variants(const StudyConfig& c, const StudyComparison& cmp,
                                  const std::map<std::string, const VariantSummary*>& by_name) {
  ComparisonResult out;
  out.a = cmp.a;
  out.b = cmp.b;
  out.criteria = criteria_of(c, cmp);
  const VariantSummary& a = *by_name.at(cmp.a);
  const VariantSummary& b = *by_name.at(cmp.b);
  std::vector<double> va, vb;
  for (size_t i = 0; i < a.seeds.size(); ++i) {
    for (size_t j = 0; j < b.seeds.size(); ++j) {
      if (a.seeds[i] != b.seeds[j]) continue;
      out.seeds.push_back(a.seeds[i]);
      va.push_back(a.values[i]);
      vb.push_back(b.values[j]);
    }
  }
  if (va.size() >= 2) out.stats = compare_paired(va, vb);
  return out;
}

/// Holm over the comparisons that have statistics, then the verdicts.
void adjust_and_judge(std::vector<ComparisonResult>& comparisons) {
  std::vector<double> t_p, flip_p;
  for (const ComparisonResult& r : comparisons) {
    if (!r.stats) continue;
    t_p.push_back(r.stats->t_p);
    flip_p.push_back(r.stats->sign_flip_p);
  }
  const std::vector<double> t_holm = holm_adjust(t_p);
  const std::vector<double> flip_holm = holm_adjust(flip_p);
  size_t k = 0;
  for (ComparisonResult& r : comparisons) {
    if (!r.stats) continue;
    r.t_p_holm = t_holm[k];
    r.sign_flip_p_holm = flip_holm[k];
    ++k;
    // The verdict uses the t test, whose interval it also reads; the exact sign-flip test
    // cannot go below 2 / 2^n, out of reach of a Holm-adjusted 0.05 at a few seeds.
    if (r.criteria) r.verdict = judge(*r.stats, r.t_p_holm, r.criteria->alpha, r.criteria->margin);
  }
}

}  // namespace

StudyAnalysis analyze_study(const StudyConfig& config, const std::vector<StudyRunRecord>& runs) {
  StudyAnalysis a;
  a.metric = config.metric;
  a.split = config.split;
  for (const StudyVariant& v : config.variants) {
    a.variants.push_back(summarize_variant(config, v.name, runs));
    a.runs_done += static_cast<int64_t>(a.variants.back().values.size());
    a.runs_failed += a.variants.back().failed;
    a.runs_pending += a.variants.back().pending;
  }
  std::map<std::string, const VariantSummary*> by_name;
  for (const VariantSummary& v : a.variants) by_name[v.name] = &v;
  for (const StudyComparison& cmp : config.comparisons)
    a.comparisons.push_back(compare_variants(config, cmp, by_name));
  adjust_and_judge(a.comparisons);
  return a;
}

nlohmann::json to_json(const StudyAnalysis& a) {
  nlohmann::json variants = nlohmann::json::array();
  for (const VariantSummary& v : a.variants) {
    variants.push_back({{"name", v.name},
                        {"n", v.summary.n},
                        {"mean", v.summary.n ? nlohmann::json(v.summary.mean) : nullptr},
                        {"sd", v.summary.n ? nlohmann::json(v.summary.sd) : nullptr},
                        {"seeds", v.seeds},
                        {"values", v.values},
                        {"failed", v.failed},
                        {"pending", v.pending}});
  }
  nlohmann::json comparisons = nlohmann::json::array();
  for (const ComparisonResult& r : a.comparisons) {
    nlohmann::json e = {{"a", r.a}, {"b", r.b}, {"seeds", r.seeds}, {"n", r.seeds.size()}};
    if (r.stats) {
      const PairedComparison& s = *r.stats;
      e.update({{"mean_diff", s.mean_diff},
                {"sd_diff", s.sd_diff},
                {"ci_level", s.level},
                {"ci_low", s.ci_low},
                {"ci_high", s.ci_high},
                {"t", metric_json(s.t)},
                {"t_p", s.t_p},
                {"sign_flip_p", s.sign_flip_p},
                {"t_p_holm", r.t_p_holm},
                {"sign_flip_p_holm", r.sign_flip_p_holm}});
    }
    if (r.criteria) e["criteria"] = to_json(*r.criteria);
    e["verdict"] = r.verdict ? nlohmann::json(to_string(*r.verdict)) : nullptr;
    comparisons.push_back(std::move(e));
  }
  return {{"metric", to_string(a.metric)},
          {"split", a.split},
          {"runs_done", a.runs_done},
          {"runs_failed", a.runs_failed},
          {"runs_pending", a.runs_pending},
          {"variants", std::move(variants)},
          {"comparisons", std::move(comparisons)}};
}

}  // namespace frostnas
