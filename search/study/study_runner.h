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
/// TrainConfig::seed = s on make_splits(config.data, s): runs that share a seed share the
/// data subset, the initialisation and the data order, whatever their variant. Each run is
/// recorded in the store as it starts (running) and finishes (done, or failed when training
/// diverged). Throws InputError on data that does not fit; the experiment is then failed.
StudyOutcome run_study(const StudyConfig& config, Store& store, const StudyOptions& options);

/// The stored configuration of study experiment `id` (InputError when it is no study).
StudyConfig load_study(const Store& store, int64_t id);

/// Continues study `id`: runs done or failed are kept, the others (never started, or cut
/// short by a kill or a stop) run from scratch.
StudyOutcome resume_study(Store& store, int64_t id, const StudyOptions& options);

/// The value of `metric` in a run's stored metrics (nullopt when absent or not finite).
std::optional<double> metric_value(const nlohmann::json& metrics, StudyMetric metric);

/// One variant's recorded values of the study's metric.
struct VariantSummary {
  std::string name;
  std::vector<int64_t> seeds;  ///< seeds with a value, in the study's seed order
  std::vector<double> values;  ///< their values
  SampleSummary summary;       ///< of `values` (n = 0 when there are none)
  int64_t failed = 0;          ///< runs that diverged
  int64_t pending = 0;         ///< runs not finished
};

/// One declared comparison: b - a paired by seed over the seeds both variants have.
struct ComparisonResult {
  std::string a;
  std::string b;
  std::vector<int64_t> seeds;  ///< the paired seeds
  /// Empty with fewer than 2 pairs.
  std::optional<PairedComparison> stats;
  double t_p_holm = 1;          ///< Holm-adjusted over the study's comparisons with stats
  double sign_flip_p_holm = 1;  ///< the same for the sign-flip p-values
  std::optional<StudyCriteria> criteria;
  /// judge(stats, t_p_holm, alpha, margin) when criteria and stats are present.
  std::optional<Verdict> verdict;
};

struct StudyAnalysis {
  StudyMetric metric = StudyMetric::kInt8Acc;
  std::string split;
  std::vector<VariantSummary> variants;  ///< in declaration order
  std::vector<ComparisonResult> comparisons;
  int64_t runs_done = 0;
  int64_t runs_failed = 0;
  int64_t runs_pending = 0;
};

/// Per-variant summaries and the declared comparisons (95 % t intervals, paired t and exact
/// sign-flip p-values, both Holm-adjusted over the comparisons, verdicts) of `runs`.
StudyAnalysis analyze_study(const StudyConfig& config, const std::vector<StudyRunRecord>& runs);

/// The analysis as JSON (the `--json` output of `frostnas study`).
nlohmann::json to_json(const StudyAnalysis& analysis);

}  // namespace frostnas
