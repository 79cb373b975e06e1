#pragma once

// The declaration of a study (`frostnas study --config FILE`): a grid of variants times seeds
// of one kind of run, the measure each run reports, and the paired comparisons to make, with
// criteria declared before anything runs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "search/cell/cell_search.h"
#include "space/net_spec.h"
#include "trainer/data/splits.h"
#include "trainer/train/train_config.h"

namespace frostnas {

/// The `format` of a study file.
constexpr const char* kStudyConfigFormat = "frostnas.study/1";

/// What one run of a study is: a training run (`train`) or a cell search (`cell_search`).
enum class StudyKind { kTrain, kCellSearch };
/// Allowed kinds, in enum order: train, cell_search.
const std::vector<std::string>& study_kinds();
std::string to_string(StudyKind kind);

/// The measures of a train run, read off its metrics (percent points): int8_acc, qat_acc,
/// fp32_acc of the reported split, and int8_drop = fp32_acc - int8_acc (the FP32-to-INT8
/// drop).
const std::vector<std::string>& train_study_metrics();

/// Digits after the point that show a metric: 2 for accuracies and drops (percent points),
/// 4 for weights and fractions.
int metric_decimals(const std::string& metric);

/// A cell search run's share of derived edges that are decided (DerivationEvidence).
constexpr const char* kDecidedFractionMetric = "decided_fraction";

/// A cell search run's weight of one op: `op_weight:<op>` is the op's softmaxed
/// architecture weight at the end of the last stage averaged over the cell's edges (an
/// op pruned from an edge, or never offered, counts 0 there); `op_weight@<stage>:<op>`
/// the same at the end of stage <stage> (1-based).
struct OpWeightMetric {
  std::string op;
  int64_t stage = 0;  ///< 1-based; 0: the last stage
  /// The name without the op ("op_weight" or "op_weight@2"): metrics of one family rank
  /// the ops at one point of the search.
  std::string family() const;
  std::string name() const;
};

/// The op-weight metric `name` names, nullopt when it is no op-weight metric.
std::optional<OpWeightMetric> parse_op_weight_metric(const std::string& name);

/// Criteria declared before a comparison runs (see judge() in paired_stats.h).
struct StudyCriteria {
  double alpha = 0.05;    ///< significance level of the Holm-adjusted p-value, in (0, 1)
  double margin = 0.5;    ///< equivalence margin in the units of the metric (>= 0)
  double min_effect = 0;  ///< smallest mean difference that reproduces a claim (>= 0)
  /// Fewest seeds whose difference has the sign of the mean for a reproduction (0: any).
  int64_t min_same_sign = 0;
};

/// {"alpha", "margin"} and min_effect, min_same_sign when not 0.
nlohmann::json to_json(const StudyCriteria& c);

/// One arm of the grid. A train study: the base run with its `train` patch and,
/// optionally, another architecture. A cell search study: base.cell_search with the
/// variant's `cell_search` patch.
struct StudyVariant {
  std::string name;
  nlohmann::json train_patch = nlohmann::json::object();  ///< as declared (a merge patch)
  std::optional<NetSpec> arch;                            ///< overrides the base's
  NetSpec net;        ///< the architecture this variant trains (before adaptation to data)
  TrainConfig train;  ///< base.train merged with train_patch (seed and threads set per run)
  nlohmann::json cell_search_patch = nlohmann::json::object();  ///< as declared
  /// base.cell_search merged with cell_search_patch (seed, threads and name set per run).
  CellSearchConfig cell_search;
};

/// "b against a": the paired difference b - a over the seeds both finished, one test per
/// metric of the study; or, with a_metric and b_metric, one test of b's b_metric against
/// a's a_metric (e.g. one arm's INT8 accuracy against a float arm's FP32 accuracy).
struct StudyComparison {
  std::string a;
  std::string b;
  std::string a_metric;                   ///< empty: every metric of the study
  std::string b_metric;                   ///< set exactly when a_metric is
  std::optional<StudyCriteria> criteria;  ///< the comparison's own, else the study's
};

/// A parsed study file.
struct StudyConfig {
  std::string name = "study";
  StudyKind kind = StudyKind::kTrain;
  /// Runs that share a seed share the data subset, the initialisation and the data order.
  std::vector<int64_t> seeds;
  /// The measures compared (`metrics`, or the older single `metric`), in declared order.
  std::vector<std::string> metrics{"int8_acc"};
  /// The split a train study's metrics are measured on: "test" or "val".
  std::string split = "test";
  NetSpec arch;                                          ///< base.arch (train)
  DataSpec data;                                         ///< base.data (train)
  int64_t input_size = 0;                                ///< base.input_size (0: the data's)
  nlohmann::json base_train = nlohmann::json::object();  ///< base.train as declared
  /// base.cell_search as declared (cell_search; its data are the cell search's own).
  nlohmann::json base_cell_search = nlohmann::json::object();
  std::vector<StudyVariant> variants;
  std::vector<StudyComparison> comparisons;
  std::optional<StudyCriteria> criteria;
};

/// Allowed values of StudyConfig::split: test, val.
const std::vector<std::string>& study_splits();

/// The allowed metric names of `config`'s kind as one text for error messages, e.g.
/// "decided_fraction, op_weight:<op>, op_weight@<stage>:<op> (op: none, skip, ...;
/// stage: 1..3)".
std::string allowed_metrics_text(const StudyConfig& config);
/// Whether `name` is a metric of `config`'s kind (for a cell search: an op of the base's
/// cell and a stage every variant has).
bool is_study_metric(const StudyConfig& config, const std::string& name);

/// Reads a study object. `base_dir` resolves relative architecture paths. Unknown keys at
/// any depth, unknown variant names in comparisons, a bad metric, kind or split, duplicate
/// seeds or variants, and out-of-range train or cell search options throw InputError
/// naming `source` and the JSON path (and the allowed values). A cell search object may
/// leave out its "format"; its "seed" and "threads" belong to the study.
StudyConfig study_config_from_json(const nlohmann::json& j, const std::string& source,
                                   const std::string& base_dir = ".");
/// Reads a study file (architecture paths relative to its directory).
StudyConfig load_study_config(const std::string& path);
/// The study as JSON that study_config_from_json reads back to the same study (the
/// architectures inline), as stored with the experiment for `--resume`.
nlohmann::json to_json(const StudyConfig& config);

/// The criteria of comparison `c`: its own, else the study's, else none.
std::optional<StudyCriteria> criteria_of(const StudyConfig& config, const StudyComparison& c);

}  // namespace frostnas
