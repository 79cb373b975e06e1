#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/cell/derivation.h"
#include "search/cell/supernet.h"
#include "search/store/store.h"
#include "space/genotype.h"
#include "trainer/data/splits.h"
#include "trainer/optim/optimizer_factory.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// The "format" field of a cell search configuration.
constexpr const char* kCellSearchConfigFormat = "frostnas.cell_search/1";
/// The experiment kind of a cell search in the store.
constexpr const char* kCellSearchKind = "cell_search";

/// One P-DARTS stage.
struct CellStageConfig {
  int64_t depth = 3;          ///< searchable blocks of the supernet
  int64_t epochs = 4;         ///< epochs of the stage
  int64_t warmup_epochs = 2;  ///< first epochs train the weights only (no arch steps)
  int64_t ops = 8;            ///< candidate ops per edge during the stage
  /// Dropout on skip branches; decays over the stage as rate * (E - e - 1) / E in epoch e.
  double skip_dropout = 0.0;
};

/// The data (make_splits): the weights train on the training part, the architecture on the
/// validation part. The JSON key `subset` S of older configurations means train_subset
/// S - S/2 and val_size S/2.
struct CellSearchDataConfig : DataSpec {
  CellSearchDataConfig() {
    train_subset = 2000;
    val_size = 2000;
  }
};

/// Weights: the trainer's optimizer registry (GradBoost QSGD by default) with the StatAssist
/// float warm-up at the start of every stage, cosine lr per stage, gradient clipping.
struct CellWeightOptimConfig {
  OptimizerConfig optimizer;  ///< defaults below: qsgd lr 0.025 momentum 0.9 wd 3e-4 (P-DARTS)
  double min_lr = 0.0;        ///< end of the cosine schedule
  double grad_clip = 5.0;     ///< max global gradient norm (0: off)
  /// StatAssist: float epochs (optimizer in warm-up) at the start of every stage before
  /// fake quantization is switched on (fractional: at step round(x * steps per epoch)).
  double fp_warmup_epochs = 1.0;
  double other_weight_decay_scale = 0.01;  ///< BN / bias params (depthwise: none)
  CellWeightOptimConfig();
};

/// Architecture parameters: Adam with the P-DARTS constants; alpha ~ init_scale * N(0, 1).
struct CellArchOptimConfig {
  double lr = 6e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  double weight_decay = 1e-3;
  double init_scale = 1e-3;
};

/// What the supernet's weights train in: `kQat` fake-quantizes after the float warm-up of
/// each stage (StatAssist, GradBoost noise from then on); `kFp32` is the same search without
/// fake quantization (and so without GradBoost noise), to compare the two.
enum class SearchPrecision { kQat, kFp32 };
/// The names of the precisions in enum order: "qat", "fp32".
const std::vector<std::string>& search_precision_names();
std::string to_string(SearchPrecision precision);
/// Throws InputError("<what>: unknown value '<text>' (allowed: qat, fp32)").
SearchPrecision parse_search_precision(const std::string& text, const std::string& what);

/// A whole cell search, as read from `frostnas cell-search --config FILE`.
struct CellSearchConfig {
  std::string name = "cell_search";
  uint64_t seed = 0;
  int64_t threads = 0;  ///< torch threads (0: leave as is)
  CellSearchDataConfig data;
  int64_t batch_size = 64;
  QuantEngine engine = QuantEngine::kOneDNN;
  SearchPrecision precision = SearchPrecision::kQat;
  /// How QAT rounds weights: per channel (default) or per tensor.
  WeightQuant weight_quant = WeightQuant::kPerChannel;
  /// The cell: intermediate nodes, join and the candidate ops of the first stage.
  int64_t nodes = 3;
  CellJoin join = CellJoin::kConcat;
  std::vector<std::string> ops = cell_op_names();
  /// The skeleton (in/out shape, channels, expansion...); depth, nodes, join, edge ops and
  /// engine are set per stage from the fields above. in_channels, input_size and
  /// num_classes are taken from the data.
  SupernetOptions supernet;
  std::vector<CellStageConfig> stages;
  CellWeightOptimConfig weight_optimizer;
  CellArchOptimConfig arch_optimizer;
  int64_t max_skip = 2;  ///< P-DARTS cap M on skip connections at derivation

  CellSearchConfig();
  /// The configuration as stored with the experiment (every field).
  nlohmann::json to_json() const;
};

class ConfigFields;
/// The JSON fields of the configuration and its parts (common/config_fields.h), with their
/// checks; the "cell" section and the "stages" array are read in cell_search.cpp.
void config_fields(ConfigFields& f, SupernetOptions& o);
void config_fields(ConfigFields& f, CellWeightOptimConfig& wo);
void config_fields(ConfigFields& f, CellArchOptimConfig& ao);
void config_fields(ConfigFields& f, CellSearchConfig& c);

/// Parses and validates a configuration; `source` names it in errors. Errors are one
/// InputError line naming the source, the JSON path and the allowed values.
CellSearchConfig cell_search_config_from_json(const nlohmann::json& j, const std::string& source);
CellSearchConfig load_cell_search_config(const std::string& path);

/// The architecture weights at the end of a stage.
struct CellStageResult {
  int64_t stage = 0;  ///< 0-based
  int64_t depth = 0;
  ArchWeights weights;
};

/// What the loop reports to its caller.
struct CellSearchProgress {
  enum class Event { kEpochStart, kStep, kEpochEnd, kStageEnd };
  Event event = Event::kStep;
  int64_t stage = 0;  ///< 0-based
  int64_t stages = 0;
  int64_t epoch = 0;  ///< 0-based, within the stage
  int64_t epochs = 0;
  int64_t step = 0;  ///< steps done in the epoch
  int64_t steps = 0;
  int64_t batch_size = 0;
  double train_loss = 0, train_acc = 0;  ///< epoch means so far (acc in percent)
  double val_loss = 0, val_acc = 0;      ///< of the arch steps; NaN in weights-only epochs
  double lr = 0;
  double skip_dropout = 0;
  bool arch_active = false;
  bool qat_active = false;
  /// kEpochEnd and kStageEnd: the softmaxed architecture weights.
  const ArchWeights* weights = nullptr;
  /// kStageEnd: the pruned op lists of the next stage (nullptr after the last stage).
  const std::vector<std::vector<std::string>>* next_ops = nullptr;
};

struct CellSearchOptions {
  /// Continue this experiment from its last finished epoch (its stored configuration must
  /// equal `config`; see cell_search_config_from_store).
  std::optional<int64_t> resume_id;
  /// Polled after every step and after every epoch's checkpoint: true stops the search
  /// there (status "interrupted"; resume continues from the last finished epoch).
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const CellSearchProgress&)> on_progress;
};

struct CellSearchResult {
  int64_t experiment_id = 0;
  Genotype genotype;  ///< empty (no nodes) when interrupted
  /// Which edges of `genotype` the search decided (kDecidedMargin); also stored with it.
  DerivationEvidence evidence;
  std::vector<CellStageResult> stages;
  bool interrupted = false;
  std::string checkpoint_path;
};

/// The weights' (train) and the architecture's (val) images of cell search `c`.
DataSplits cell_search_data(const CellSearchConfig& c);

/// The P-DARTS progressive search under QAT (docs/frostnet.md, "P-DARTS cell search",
/// "StatAssist" and "GradBoost"). Per stage: a fresh supernet of the stage's depth over the
/// remaining ops and fresh alphas [edges, K]; per step (first order) one Adam step of
/// alpha on a validation batch (after the stage's weights-only epochs), then one weight
/// step on a training batch. Fake quantization
/// starts fp_warmup_epochs into each stage (StatAssist; GradBoost leaves warm-up then).
/// After each epoch the softmaxed weights go to Store::add_arch_weights and a checkpoint
/// is written atomically to cell_search_checkpoint_path; after each stage every edge is
/// pruned to the next stage's op count (the pruning into the last stage drops "none"
/// first); at the end the genotype is derived with the skip cap (derive_genotype).
/// Every random draw is seeded from (seed, stage, step): the same config gives the same
/// genotype, and a resumed run equals an uninterrupted one (same machine and threads).
/// Throws InputError on bad data or an unusable checkpoint / experiment.
CellSearchResult run_cell_search(const CellSearchConfig& config, Store& store,
                                 const CellSearchOptions& options = {});

/// `<db>.d/cell_search/<id>/ckpt.pt`.
std::string cell_search_checkpoint_path(const Store& store, int64_t experiment_id);
/// The configuration an experiment of kind cell_search was started with.
CellSearchConfig cell_search_config_from_store(const Store& store, int64_t experiment_id);

/// The architecture weights at the last stored epoch of each stage of cell search
/// `experiment_id`, by stage (empty when none are stored). Throws InputError on a bad record.
std::vector<ArchWeights> stored_stage_weights(const Store& store, int64_t experiment_id);
/// The evidence stored with the derived genotype of cell search `experiment_id` (the
/// "evidence" of its "derive" stage result); for a search recorded before the evidence was,
/// assessed now from its genotype and last stage's weights with kDecidedMargin. Empty when
/// the search has derived no genotype. Throws InputError on a bad record.
std::optional<DerivationEvidence> stored_derivation_evidence(const Store& store,
                                                             int64_t experiment_id);

}  // namespace frostnas
