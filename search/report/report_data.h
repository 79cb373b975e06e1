#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/cell/derivation.h"
#include "search/store/records.h"
#include "search/store/store.h"
#include "search/study/study_runner.h"

namespace frostnas {

/// What `frostnas report` shows, gathered from the experiment store into plain
/// values: the models (candidates of the experiment and of its baseline
/// experiments) with their metrics and Pareto membership, the cell search's
/// architecture weights, pipeline stages and events.

/// Series names of ReportModel::group: the search's candidates, the found networks
/// retrained by a pipeline, and the baselines.
constexpr const char* kSearchGroup = "search";
constexpr const char* kFoundGroup = "found";
constexpr const char* kBaselineGroup = "baseline";

/// One candidate of the report.
struct ReportModel {
  int64_t candidate_id = 0;
  int64_t experiment_id = 0;
  int64_t seq = 0;
  std::string group = kSearchGroup;  ///< kSearchGroup, kFoundGroup or kBaselineGroup
  std::string label;  ///< "#12" for search candidates; the stage's model name, else the
                      ///< arch name (or "exp3#2" when unnamed), for the other groups
  std::string arch_name;
  std::string arch_hash;
  CandidateStatus status = CandidateStatus::kQueued;
  std::string error;
  nlohmann::json arch;
  std::optional<double> fp32_acc;  ///< percent
  std::optional<double> qat_acc;
  std::optional<double> int8_acc;
  std::optional<double> latency_ms;  ///< measured when recorded, else predicted
  std::string latency_source;        ///< "measured", "predicted" or ""
  std::optional<double> reward;
  std::optional<double> train_seconds;
  std::optional<int64_t> params;  ///< from the arch JSON; unset when it does not resolve
  std::optional<int64_t> macs;
  bool plotted = false;   ///< done with INT8 accuracy and latency: a point of the plane
  bool on_front = false;  ///< on the Pareto front of all plotted models
  /// Search and found models, when plotted baselines exist: no baseline is at least as
  /// accurate and at least as fast (and strictly better in one).
  std::optional<bool> beyond_baselines;

  /// FP32 minus INT8 accuracy in percentage points, when both are recorded.
  std::optional<double> int8_drop() const;
};

/// The softmaxed operation weights of one edge of a cell.
struct EdgeWeights {
  std::string name;              ///< e.g. "0->1" or "normal[2]"
  std::vector<std::string> ops;  ///< op names, one per weight
  std::vector<double> probs;     ///< sums to 1
};

/// The weights of every edge after one epoch.
struct EpochWeights {
  int64_t epoch = 0;
  std::vector<EdgeWeights> edges;
};

/// The epochs (ascending) of one stage of a progressive cell search.
struct StageWeights {
  int64_t stage = 0;
  std::vector<EpochWeights> epochs;
};

/// A study experiment (`frostnas study`): its configuration and the analysis of its
/// recorded runs, shown as the study page instead of the search sections.
struct ReportStudy {
  StudyConfig config;
  StudyAnalysis analysis;
};

struct ReportData {
  std::string db_path;
  ExperimentRecord experiment;
  std::vector<ExperimentRecord> baseline_experiments;
  /// The search candidates by sequence number, then the found models, then the
  /// baselines (by experiment and sequence number, or in the stage's order).
  std::vector<ReportModel> models;
  std::vector<size_t> top;    ///< best search models by reward (indices into models)
  std::vector<size_t> front;  ///< Pareto front of the plotted models in front_scope
  /// Which models the front is over: "all models", or, when retrained found networks
  /// exist (a pipeline), "retrained and baselines" (one protocol: test accuracy and
  /// measured latency; search candidates are scored on the validation split).
  std::string front_scope = "all models";
  std::vector<size_t> baseline_front;  ///< Pareto front of the plotted baselines, by latency
  std::vector<StageWeights> arch_weights;
  /// Which edges of the cell search's derived genotype are decided (stored_derivation_evidence
  /// of the cell search whose weights arch_weights shows); empty without a derived genotype.
  std::optional<DerivationEvidence> cell_evidence;
  std::vector<StageRecord> stages;
  std::vector<EventRecord> events;
  std::optional<ReportStudy> study;        ///< set when the experiment is a study
  std::string latency_precision = "INT8";  ///< of the latency axis, from the config
  std::vector<std::string> warnings;       ///< data that could not be shown, and why

  /// Indices of the models of `group`.
  std::vector<size_t> group(const std::string& name) const;
};

struct ReportOptions {
  int64_t experiment_id = 0;
  /// Experiments whose candidates are drawn as baselines, besides those the
  /// experiment names itself (config or stage result field "baseline_experiments").
  std::vector<int64_t> baseline_experiments;
  int64_t top_k = 10;
};

/// Reads everything the report shows. Throws InputError naming `--experiment` or
/// `--baselines` for an unknown experiment id.
///
/// Besides its own candidates and arch weights, the experiment (a pipeline) may point
/// at others through its config and its stage results (Store::set_stage):
/// - "baseline_experiments": [ids] (config or any stage result): their candidates are
///   baselines;
/// - "cell_search_experiment": id (config or any stage result), or the result of a stage
///   named "cell_search" with "experiment_id": the arch weights, when the experiment
///   has none of its own;
/// - a stage named "search" with "experiment_id": the search candidates, when the
///   experiment has no candidates of its own;
/// - stages named "retrain" and "baselines" with "models": [{"candidate_id", "name"},
///   ...]: those candidates (of any experiment) are found models and baselines,
///   labelled with "name".
/// Ids that are not in the database only add a warning.
ReportData gather_report_data(const Store& store, const ReportOptions& options);

/// Numerically stable softmax.
std::vector<double> softmax(const std::vector<double>& logits);

/// The edges of one stored arch-weights document, softmaxed per edge. Accepted forms:
/// - `{"ops": [names], "edges": [{"name": "0->1", "ops": [names], "alpha": [logits]}, ...]}`
///   (per-edge "ops" override the shared list; the weights may also be called
///   "alphas", "weights" or "logits"; "from" / "to" name an edge without "name");
/// - `{"ops": [names], "<cell>": [[logits per op], ...], ...}` (edges "<cell>[i]");
/// - `[[logits per op], ...]` (edges "edge i").
/// Op names default to "op0", "op1", ... Edge weights under "alpha", "alphas" or
/// "logits" are softmaxed; under "weights", "probs" or "softmax" (the cell search's
/// `{"nodes", "edges": [{"from", "to", "ops", "weights"}]}`) they are probabilities
/// and only renormalised. Rows of the matrix forms are logits unless the document
/// says `"normalized": true`. Other keys are ignored. Throws InputError (naming
/// `source`) for any other shape.
std::vector<EdgeWeights> parse_arch_weights(const nlohmann::json& weights,
                                            const std::string& source);

/// `v` with `decimals` digits after the point, or "-" when unset.
std::string format_metric(const std::optional<double>& v, int decimals);

/// "1,234,567", or "-" when unset.
std::string format_optional_count(const std::optional<int64_t>& n);

/// Parses `--baselines 3,4` into ids; throws InputError naming the flag.
std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag);

}  // namespace frostnas
