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
#include "space/net_spec.h"
#include "trainer/data/splits.h"
#include "trainer/train/train_config.h"

namespace frostnas {

/// The `format` of a study file.
constexpr const char* kStudyConfigFormat = "frostnas.study/1";

/// What one run of a study is. Only training today; the name leaves room for others
/// (a cell search) that would read their own variant fields.
enum class StudyKind { kTrain };
/// Allowed kinds, in enum order: train.
const std::vector<std::string>& study_kinds();
std::string to_string(StudyKind kind);

/// The measure compared between variants, read off a run's metrics (percent points):
/// int8_acc, qat_acc, fp32_acc of the reported split, and int8_drop = fp32_acc - int8_acc.
enum class StudyMetric { kInt8Acc, kQatAcc, kFp32Acc, kInt8Drop };
/// Allowed metric names, in enum order: int8_acc, qat_acc, fp32_acc, int8_drop.
const std::vector<std::string>& study_metrics();
std::string to_string(StudyMetric metric);

/// Criteria declared before a comparison runs (see judge() in paired_stats.h).
struct StudyCriteria {
  double alpha = 0.05;  ///< significance level of the Holm-adjusted p-value, in (0, 1)
  double margin = 0.5;  ///< equivalence margin in the units of the metric (>= 0)
};

/// {"alpha": ..., "margin": ...}
nlohmann::json to_json(const StudyCriteria& c);

/// One arm of the grid: the base run with its `train` patch and, optionally, another
/// architecture.
struct StudyVariant {
  std::string name;
  nlohmann::json train_patch = nlohmann::json::object();  ///< as declared (a merge patch)
  std::optional<NetSpec> arch;                            ///< overrides the base's
  NetSpec net;        ///< the architecture this variant trains (before adaptation to data)
  TrainConfig train;  ///< base.train merged with train_patch (seed and threads set per run)
};

/// "b against a": the paired difference b - a over the seeds both finished.
struct StudyComparison {
  std::string a;
  std::string b;
  std::optional<StudyCriteria> criteria;  ///< the comparison's own, else the study's
};

/// A parsed study file.
struct StudyConfig {
  std::string name = "study";
  StudyKind kind = StudyKind::kTrain;
  /// Runs that share a seed share the data subset, the initialisation and the data order.
  std::vector<int64_t> seeds;
  StudyMetric metric = StudyMetric::kInt8Acc;
  /// The split the metric is measured on: "test" or "val".
  std::string split = "test";
  NetSpec arch;                                          ///< base.arch
  DataSpec data;                                         ///< base.data
  int64_t input_size = 0;                                ///< base.input_size (0: the data's)
  nlohmann::json base_train = nlohmann::json::object();  ///< base.train as declared
  std::vector<StudyVariant> variants;
  std::vector<StudyComparison> comparisons;
  std::optional<StudyCriteria> criteria;
};

/// Allowed values of StudyConfig::split: test, val.
const std::vector<std::string>& study_splits();

/// Reads a study object. `base_dir` resolves relative architecture paths. Unknown keys at
/// any depth, unknown variant names in comparisons, a bad metric, kind or split, duplicate
/// seeds or variants, and out-of-range train options throw InputError naming `source` and
/// the JSON path (and the allowed values).
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
