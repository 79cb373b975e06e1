#include "search/study/study_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
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

/// The mean weight of each op of `ops` over the edges of `w` (0 where an edge lacks it).
std::vector<double> mean_op_weights(const ArchWeights& w, const std::vector<std::string>& ops) {
  std::vector<double> out(ops.size(), 0.0);
  if (w.ops.empty()) return out;
  for (size_t e = 0; e < w.ops.size(); ++e) {
    for (size_t k = 0; k < w.ops[e].size(); ++k) {
      const auto it = std::find(ops.begin(), ops.end(), w.ops[e][k]);
      if (it != ops.end()) out[static_cast<size_t>(it - ops.begin())] += w.weights[e][k];
    }
  }
  for (double& v : out) v /= static_cast<double>(w.ops.size());
  return out;
}

nlohmann::json cell_run_metrics(const CellSearchResult& r, const CellSearchConfig& config) {
  int64_t decided = 0;
  for (const DerivedEdgeEvidence& e : r.evidence.edges) decided += e.decided ? 1 : 0;
  const auto derived = static_cast<int64_t>(r.evidence.edges.size());
  nlohmann::json m = {
      {"cell_search_experiment", r.experiment_id},
      {"derived_edges", derived},
      {"decided_edges", decided},
      {kDecidedFractionMetric,
       metric_json(derived ? static_cast<double>(decided) / static_cast<double>(derived)
                           : std::numeric_limits<double>::quiet_NaN())}};
  for (size_t s = 0; s < r.stages.size(); ++s) {
    const std::vector<double> means = mean_op_weights(r.stages[s].weights, config.ops);
    for (size_t k = 0; k < config.ops.size(); ++k) {
      OpWeightMetric name{config.ops[k], static_cast<int64_t>(s) + 1};
      m[name.name()] = means[k];
      if (s + 1 == r.stages.size()) m[OpWeightMetric{config.ops[k], 0}.name()] = means[k];
    }
  }
  return m;
}

/// The cell search experiment an earlier process started for this run and did not fail.
std::optional<int64_t> earlier_cell_search(const Store& store, const std::string& name) {
  std::optional<int64_t> id;
  for (const ExperimentRecord& e : store.list_experiments(kCellSearchKind))
    if (e.name == name && e.status != ExperimentStatus::kFailed) id = e.id;
  return id;
}

/// Runs one cell search; nullopt when the stop flag cut it short.
std::optional<StudyRunRecord> cell_search_run(const StudyConfig& c, const GridRun& g, Store& store,
                                              int64_t experiment_id, const StudyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CellSearchConfig config = g.variant->cell_search;
  config.seed = static_cast<uint64_t>(g.seed);
  config.threads = options.threads;
  config.name = study_cell_search_name(c, experiment_id, g.variant->name, g.seed);
  CellSearchOptions cell_options;
  cell_options.stop = options.stop;
  cell_options.on_progress = options.cell_search_progress;
  cell_options.resume_id = earlier_cell_search(store, config.name);
  const CellSearchResult result = run_cell_search(config, store, cell_options);
  if (result.interrupted) return std::nullopt;
  StudyRunRecord r;
  r.experiment_id = experiment_id;
  r.variant = g.variant->name;
  r.seed = g.seed;
  r.status = StudyRunStatus::kDone;
  r.metrics = cell_run_metrics(result, config);
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
    StudyRunRecord running;
    running.experiment_id = id;
    running.variant = g.variant->name;
    running.seed = g.seed;
    store.put_study_run(running);
    std::optional<StudyRunRecord> r;
    if (c.kind == StudyKind::kCellSearch) {
      r = cell_search_run(c, g, store, id, options);
    } else {
      if (splits_seed != g.seed) {
        splits =
            make_splits(for_network_input(c.data, c.arch.input_size, c.arch.in_channels),
                        static_cast<uint64_t>(g.seed), c.split == "test", c.name + ": $.base.data");
        splits_seed = g.seed;
      }
      r = train_run(c, g, *splits, id, options);
    }
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

std::optional<double> metric_value(const nlohmann::json& metrics, const std::string& name) {
  const auto it = metrics.find(name);
  if (it == metrics.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

std::string study_cell_search_name(const StudyConfig& config, int64_t study_id,
                                   const std::string& variant, int64_t seed) {
  return config.name + "/" + variant + "/seed" + std::to_string(seed) + " (study " +
         std::to_string(study_id) + ")";
}

std::string ComparisonResult::metric_label() const {
  return a_metric == b_metric ? a_metric : a_metric + " -> " + b_metric;
}

namespace {

/// The variant's values of `metric` by seed, in the study's seed order.
VariantSummary summarize_variant(const StudyConfig& c, const std::string& name,
                                 const std::string& metric,
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
    } else if (const auto v = metric_value(run->metrics, metric)) {
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
                                  const std::string& a_metric, const std::string& b_metric,
                                  const std::vector<StudyRunRecord>& runs) {
  ComparisonResult out;
  out.a = cmp.a;
  out.b = cmp.b;
  out.a_metric = a_metric;
  out.b_metric = b_metric;
  out.criteria = criteria_of(c, cmp);
  const VariantSummary a = summarize_variant(c, cmp.a, a_metric, runs);
  const VariantSummary b = summarize_variant(c, cmp.b, b_metric, runs);
  for (size_t i = 0; i < a.seeds.size(); ++i) {
    for (size_t j = 0; j < b.seeds.size(); ++j) {
      if (a.seeds[i] != b.seeds[j]) continue;
      out.seeds.push_back(a.seeds[i]);
      out.a_values.push_back(a.values[i]);
      out.b_values.push_back(b.values[j]);
    }
  }
  if (out.a_values.size() >= 2) {
    out.stats = compare_paired(out.a_values, out.b_values);
    std::vector<double> d(out.a_values.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = out.b_values[i] - out.a_values[i];
    out.same_sign = count_same_sign(d);
  }
  return out;
}

/// Holm over every test that has statistics, then the verdicts.
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
    if (!r.criteria) continue;
    r.verdict =
        judge(*r.stats, r.t_p_holm, r.criteria->alpha, r.criteria->margin, r.criteria->min_effect);
    if (*r.verdict == Verdict::kReproduced && r.same_sign < r.criteria->min_same_sign)
      r.verdict = Verdict::kInconclusive;
  }
}

/// Kendall's W per variant and op-weight family with at least 2 ops among the metrics.
std::vector<RankAgreement> rank_agreement(const StudyAnalysis& a) {
  std::vector<std::string> families;
  for (const std::string& m : a.metrics) {
    const auto op = parse_op_weight_metric(m);
    if (op && std::find(families.begin(), families.end(), op->family()) == families.end())
      families.push_back(op->family());
  }
  std::vector<RankAgreement> out;
  for (size_t v = 0; v < (a.per_metric.empty() ? 0 : a.per_metric.front().variants.size()); ++v) {
    for (const std::string& family : families) {
      RankAgreement r;
      r.variant = a.per_metric.front().variants[v].name;
      r.family = family;
      std::vector<const VariantSummary*> columns;
      for (const MetricSummary& m : a.per_metric) {
        const auto op = parse_op_weight_metric(m.metric);
        if (!op || op->family() != family) continue;
        r.ops.push_back(op->op);
        columns.push_back(&m.variants[v]);
      }
      if (r.ops.size() < 2) continue;
      std::vector<std::vector<double>> scores;  // [seed][op], seeds with every op
      for (size_t i = 0; i < columns.front()->seeds.size(); ++i) {
        const int64_t seed = columns.front()->seeds[i];
        std::vector<double> row;
        for (const VariantSummary* col : columns) {
          const auto it = std::find(col->seeds.begin(), col->seeds.end(), seed);
          if (it == col->seeds.end()) break;
          row.push_back(col->values[static_cast<size_t>(it - col->seeds.begin())]);
        }
        if (row.size() == columns.size()) scores.push_back(std::move(row));
      }
      r.seeds = static_cast<int64_t>(scores.size());
      r.w = kendall_w(scores);
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

StudyAnalysis analyze_study(const StudyConfig& config, const std::vector<StudyRunRecord>& runs) {
  StudyAnalysis a;
  a.kind = config.kind;
  a.metrics = config.metrics;
  a.split = config.split;
  for (const std::string& metric : config.metrics) {
    MetricSummary m{metric, {}};
    for (const StudyVariant& v : config.variants)
      m.variants.push_back(summarize_variant(config, v.name, metric, runs));
    a.per_metric.push_back(std::move(m));
  }
  for (const StudyRunRecord& r : runs) {
    a.runs_done += r.status == StudyRunStatus::kDone ? 1 : 0;
    a.runs_failed += r.status == StudyRunStatus::kFailed ? 1 : 0;
  }
  a.runs_pending = static_cast<int64_t>(config.seeds.size() * config.variants.size()) -
                   a.runs_done - a.runs_failed;
  for (const StudyComparison& cmp : config.comparisons) {
    if (!cmp.a_metric.empty()) {
      a.comparisons.push_back(compare_variants(config, cmp, cmp.a_metric, cmp.b_metric, runs));
      continue;
    }
    for (const std::string& metric : config.metrics)
      a.comparisons.push_back(compare_variants(config, cmp, metric, metric, runs));
  }
  adjust_and_judge(a.comparisons);
  if (config.kind == StudyKind::kCellSearch) a.agreement = rank_agreement(a);
  return a;
}

namespace {

nlohmann::json variant_json(const VariantSummary& v) {
  return {{"name", v.name},
          {"n", v.summary.n},
          {"mean", v.summary.n ? nlohmann::json(v.summary.mean) : nullptr},
          {"sd", v.summary.n ? nlohmann::json(v.summary.sd) : nullptr},
          {"seeds", v.seeds},
          {"values", v.values},
          {"failed", v.failed},
          {"pending", v.pending}};
}

nlohmann::json comparison_json(const ComparisonResult& r) {
  nlohmann::json e = {{"a", r.a},
                      {"b", r.b},
                      {"a_metric", r.a_metric},
                      {"b_metric", r.b_metric},
                      {"seeds", r.seeds},
                      {"a_values", r.a_values},
                      {"b_values", r.b_values},
                      {"n", r.seeds.size()}};
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
              {"sign_flip_p_holm", r.sign_flip_p_holm},
              {"same_sign", r.same_sign}});
  }
  if (r.criteria) e["criteria"] = to_json(*r.criteria);
  e["verdict"] = r.verdict ? nlohmann::json(to_string(*r.verdict)) : nullptr;
  return e;
}

}  // namespace

nlohmann::json to_json(const StudyAnalysis& a) {
  nlohmann::json metrics = nlohmann::json::array();
  for (const MetricSummary& m : a.per_metric) {
    nlohmann::json variants = nlohmann::json::array();
    for (const VariantSummary& v : m.variants) variants.push_back(variant_json(v));
    metrics.push_back({{"metric", m.metric}, {"variants", std::move(variants)}});
  }
  nlohmann::json comparisons = nlohmann::json::array();
  for (const ComparisonResult& r : a.comparisons) comparisons.push_back(comparison_json(r));
  nlohmann::json agreement = nlohmann::json::array();
  for (const RankAgreement& r : a.agreement) {
    agreement.push_back({{"variant", r.variant},
                         {"family", r.family},
                         {"ops", r.ops},
                         {"seeds", r.seeds},
                         {"kendall_w", metric_json(r.w)}});
  }
  nlohmann::json j = {{"kind", to_string(a.kind)},
                      {"metrics", a.metrics},
                      {"runs_done", a.runs_done},
                      {"runs_failed", a.runs_failed},
                      {"runs_pending", a.runs_pending},
                      {"per_metric", std::move(metrics)},
                      {"comparisons", std::move(comparisons)}};
  if (a.kind == StudyKind::kTrain) j["split"] = a.split;
  if (a.kind == StudyKind::kCellSearch) j["agreement"] = std::move(agreement);
  return j;
}

}  // namespace frostnas
