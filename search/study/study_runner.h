#pragma once

// Runs a study's grid of variants x seeds, one recorded run at a time, and analyses the
// recorded values with the paired statistics of paired_stats.h.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/cell/cell_search.h"
#include "search/store/store.h"
#include "search/study/paired_stats.h"
#include "search/study/study_config.h"
#include "trainer/train/train_model.h"

namespace frostnas {

/// The experiment kind of a study in the store.
constexpr const char* kStudyExperimentKind = "study";

/// Where a study stands, given to StudyOptions::on_progress before and after every run.
struct StudyProgress {
  int64_t index = 0;  ///< 0-based position of the run in the grid (seed-major order)
  int64_t total = 0;  ///< runs in the grid
  std::string variant;
  int64_t seed = 0;
  /// Null before the run; its stored record after it (also for runs skipped on resume).
  const StudyRunRecord* record = nullptr;
  bool skipped = false;  ///< finished by an earlier process (resume)
};

struct StudyOptions {
  /// TrainConfig::threads of every run (0: leave the process's setting).
  int64_t threads = 0;
  /// Polled between runs and after every training step; when set, the running run is
  /// abandoned (it reruns from scratch on resume) and the study is marked interrupted.
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const StudyProgress&)> on_progress;
  /// Per-run training callbacks (a progress bar); their stop_flag is replaced by `stop`.
  std::function<TrainCallbacks(const StudyVariant&, int64_t seed)> train_callbacks;
  /// The progress of each cell search run (CellSearchOptions::on_progress).
  std::function<void(const CellSearchProgress&)> cell_search_progress;
};

/// What run_study / resume_study leave behind.
struct StudyOutcome {
  int64_t experiment_id = 0;
  bool interrupted = false;
  StudyConfig config;
  std::vector<StudyRunRecord> runs;  ///< every stored run (store order: variant, seed)
};

/// Creates a study experiment (kind "study", the config as to_json(StudyConfig)) and runs
/// every (variant, seed) of the grid, seeds outermost. A run of seed s trains with
/// TrainConfig::seed = s on make_splits(config.data, s), or runs a cell search with
/// CellSearchConfig::seed = s (its own data subset, supernet initialisation and data order
/// follow from the seed): runs that share a seed share the data subset, the initialisation
/// and the data order, whatever their variant. Each run is recorded in the store as it
/// starts (running) and finishes (done, or failed when training diverged); a cell search
/// run is also an experiment of its own (kind cell_search, named study_cell_search_name)
/// whose weights, genotype and evidence the store keeps. Throws InputError on data that
/// does not fit; the experiment is then failed.
StudyOutcome run_study(const StudyConfig& config, Store& store, const StudyOptions& options);

/// The stored configuration of study experiment `id` (InputError when it is no study).
StudyConfig load_study(const Store& store, int64_t id);

/// Continues study `id`: runs done or failed are kept, the others (never started, or cut
/// short by a kill or a stop) run from scratch; a cut-short cell search continues its own
/// experiment from its last finished epoch instead.
StudyOutcome resume_study(Store& store, int64_t id, const StudyOptions& options);

/// The value of metric `name` in a run's stored metrics (nullopt when absent or not finite).
std::optional<double> metric_value(const nlohmann::json& metrics, const std::string& name);

/// `<study name>/<variant>/seed<seed> (study <id>)`: the name of the cell search experiment
/// of one run of cell search study `study_id` (a resumed study finds it by this name).
std::string study_cell_search_name(const StudyConfig& config, int64_t study_id,
                                   const std::string& variant, int64_t seed);

/// One variant's recorded values of one metric.
struct VariantSummary {
  std::string name;
  std::vector<int64_t> seeds;  ///< seeds with a value, in the study's seed order
  std::vector<double> values;  ///< their values
  SampleSummary summary;       ///< of `values` (n = 0 when there are none)
  int64_t failed = 0;          ///< runs that diverged (or finished without the metric)
  int64_t pending = 0;         ///< runs not finished
};

/// Every variant's values of one metric of the study.
struct MetricSummary {
  std::string metric;
  std::vector<VariantSummary> variants;  ///< in declaration order
};

/// One test of a declared comparison: b's b_metric - a's a_metric paired by seed over the
/// seeds both variants have (a_metric == b_metric unless the comparison names both).
struct ComparisonResult {
  std::string a;
  std::string b;
  std::string a_metric;
  std::string b_metric;
  std::vector<int64_t> seeds;    ///< the paired seeds
  std::vector<double> a_values;  ///< a's values at `seeds`
  std::vector<double> b_values;  ///< b's values at `seeds`
  /// Empty with fewer than 2 pairs.
  std::optional<PairedComparison> stats;
  int64_t same_sign = 0;        ///< seeds whose difference has the sign of the mean
  double t_p_holm = 1;          ///< Holm-adjusted over every test of the study with stats
  double sign_flip_p_holm = 1;  ///< the same for the sign-flip p-values
  std::optional<StudyCriteria> criteria;
  /// judge(stats, t_p_holm, alpha, margin, min_effect) when criteria and stats are present;
  /// a reproduction with fewer than min_same_sign same-sign seeds is inconclusive.
  std::optional<Verdict> verdict;

  /// "op_weight:se" for a one-metric test, "fp32_acc -> int8_acc" across metrics.
  std::string metric_label() const;
};

/// How alike one variant's seeds rank the ops of one op-weight family (cell search
/// studies): Kendall's W over the seeds that have every op's value.
struct RankAgreement {
  std::string variant;
  std::string family;            ///< "op_weight" or "op_weight@<stage>"
  std::vector<std::string> ops;  ///< the family's ops among the study's metrics
  int64_t seeds = 0;             ///< raters
  double w = 0;                  ///< kendall_w; NaN with fewer than 2 seeds
};

struct StudyAnalysis {
  StudyKind kind = StudyKind::kTrain;
  std::vector<std::string> metrics;
  std::string split;
  std::vector<MetricSummary> per_metric;  ///< in the study's metric order
  /// Declared order; a comparison without a_metric gives one test per metric, in order.
  std::vector<ComparisonResult> comparisons;
  /// Per variant and op-weight family with at least 2 ops among the metrics.
  std::vector<RankAgreement> agreement;
  int64_t runs_done = 0;
  int64_t runs_failed = 0;
  int64_t runs_pending = 0;
};

/// Per-metric variant summaries, the declared comparisons (95 % t intervals, paired t and
/// exact sign-flip p-values, both Holm-adjusted over all (comparison x metric) tests,
/// same-sign counts, verdicts) and, for cell search studies, the op-ranking agreement.
StudyAnalysis analyze_study(const StudyConfig& config, const std::vector<StudyRunRecord>& runs);

/// The analysis as JSON (the `--json` output of `frostnas study`).
nlohmann::json to_json(const StudyAnalysis& analysis);

}  // namespace frostnas
