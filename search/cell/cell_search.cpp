#include "search/cell/cell_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "common/checkpoint.h"
#include "common/clock.h"
#include "common/config_fields.h"
#include "common/json_reader.h"
#include "common/random.h"
#include "trainer/data/data_loader.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/param_groups.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/train/qat_step.h"
#include "trainer/train/train_model.h"

namespace fs = std::filesystem;

namespace frostnas {

namespace {

constexpr const char* kCheckpointFormat = "frostnas.cell_search_ckpt/1";
// Independent random streams (mixed with the seed and the stage or step).
constexpr uint64_t kInitStream = 1000;
constexpr uint64_t kLoaderStream = 2000;
constexpr uint64_t kStepStream = 3000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string stage_name(int64_t stage) { return "stage" + std::to_string(stage + 1); }

std::vector<int64_t> int_array(const JsonReader& r, const std::string& key, int64_t lo,
                               int64_t hi) {
  const JsonReader a = r.at(key);
  a.expect_array();
  std::vector<int64_t> out;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& v = a.at(i).value();
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      a.fail("element " + std::to_string(i) + ": expected an integer in [" + std::to_string(lo) +
             ", " + std::to_string(hi) + "], got " + v.dump());
    out.push_back(v.get<int64_t>());
  }
  return out;
}

std::vector<std::string> op_array(const JsonReader& r, const std::string& key) {
  const JsonReader a = r.at(key);
  a.expect_array();
  std::vector<std::string> out;
  const auto& allowed = cell_op_names();
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& v = a.at(i).value();
    const std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (!v.is_string() || std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      a.fail("element " + std::to_string(i) + ": unknown op " + s +
             " (allowed: " + join_strings(allowed) + ")");
    if (std::find(out.begin(), out.end(), s) != out.end())
      a.fail("element " + std::to_string(i) + ": op '" + s + "' listed twice");
    out.push_back(s);
  }
  return out;
}

}  // namespace

CellWeightOptimConfig::CellWeightOptimConfig() {
  optimizer.name = "qsgd";
  optimizer.lr = 0.025;
  optimizer.momentum = 0.9;
  optimizer.nesterov = false;
  optimizer.weight_decay = 3e-4;
}

CellSearchConfig::CellSearchConfig() {
  stages = {CellStageConfig{3, 4, 2, 8, 0.0}, CellStageConfig{5, 4, 2, 5, 0.4},
            CellStageConfig{7, 4, 2, 3, 0.7}};
}

const std::vector<std::string>& search_precision_names() {
  static const std::vector<std::string> names{"qat", "fp32"};
  return names;
}

std::string to_string(SearchPrecision precision) {
  return search_precision_names().at(static_cast<size_t>(precision));
}

SearchPrecision parse_search_precision(const std::string& text, const std::string& what) {
  const auto& names = search_precision_names();
  const auto it = std::find(names.begin(), names.end(), text);
  if (it == names.end())
    throw InputError(what + ": unknown value '" + text + "' (allowed: " + join_strings(names) +
                     ")");
  return static_cast<SearchPrecision>(it - names.begin());
}

void config_fields(ConfigFields& f, SupernetOptions& o) {
  f.integer("stem_channels", o.stem_channels(), 1, 4096);
  f.custom(
      "channels",
      [&o](const JsonReader& s) {
        if (s.has("channels")) o.channels(int_array(s, "channels", 1, 4096));
      },
      [&o] { return nlohmann::json(o.channels()); });
  f.integer("expansion", o.expansion(), 1, 16);
  f.integer_in("kernel", o.kernel(), {1, 3, 5, 7});
  f.integer("rf", o.rf(), 1, 64);
  f.integer("head_channels", o.head_channels(), 1, 8192);
}

void config_fields(ConfigFields& f, CellWeightOptimConfig& wo) {
  OptimizerConfig& o = wo.optimizer;
  f.choice("name", o.name, optimizer_names());
  f.number("lr", o.lr, NumberRange::open_closed(0.0, 10.0));
  f.number("min_lr", wo.min_lr, NumberRange::closed(0.0, 10.0));
  f.number("momentum", o.momentum, NumberRange::closed(0.0, 0.999));
  f.flag("nesterov", o.nesterov);
  f.number("weight_decay", o.weight_decay, NumberRange::closed(0.0, 1.0));
  f.number("other_weight_decay_scale", wo.other_weight_decay_scale, NumberRange::closed(0.0, 1.0));
  f.number("grad_clip", wo.grad_clip, NumberRange::closed(0.0, 1e6));
  f.number("fp_warmup_epochs", wo.fp_warmup_epochs, NumberRange::closed(0.0, 10000.0));
  f.number("boost_beta", o.boost_beta, NumberRange::open_closed(0.0, 1.0));
  f.number("clip_by", o.clip_by, NumberRange::closed(0.0, 1.0));
  f.flag("toss_coin", o.toss_coin);
  f.number("noise_decay", o.noise_decay, NumberRange::closed(0.0, 1.0));
  f.check([&wo](const JsonReader& w) {
    if (wo.min_lr > wo.optimizer.lr) w.fail_at("min_lr", "must not exceed lr");
    if (wo.optimizer.nesterov && wo.optimizer.momentum <= 0.0)
      w.fail_at("nesterov", "needs momentum > 0");
  });
}

void config_fields(ConfigFields& f, CellArchOptimConfig& ao) {
  f.number("lr", ao.lr, NumberRange::open_closed(0.0, 10.0));
  f.number("beta1", ao.beta1, NumberRange::closed(0.0, 0.9999));
  f.number("beta2", ao.beta2, NumberRange::closed(0.0, 0.9999));
  f.number("weight_decay", ao.weight_decay, NumberRange::closed(0.0, 1.0));
  f.number("init_scale", ao.init_scale, NumberRange::closed(0.0, 10.0));
}

namespace {

/// The "cell" section: the cell fields of CellSearchConfig.
struct CellSection {
  CellSearchConfig* config = nullptr;
};

void config_fields(ConfigFields& f, CellSection& section) {
  CellSearchConfig& c = *section.config;
  f.integer("nodes", c.nodes, 1, 8);
  f.enumeration("join", c.join, cell_join_names());
  f.custom(
      "ops",
      [&c](const JsonReader& cell) {
        if (!cell.has("ops")) return;
        c.ops = op_array(cell, "ops");
        if (std::all_of(c.ops.begin(), c.ops.end(), [](const auto& s) { return s == "none"; }))
          cell.fail_at("ops", "needs at least one op other than none");
      },
      [&c] { return nlohmann::json(c.ops); });
}

/// One stage of a file: the bounds of depth and ops depend on the supernet and the stage
/// before (`max_ops`; the first stage keeps every op of the cell).
struct StageInSearch {
  CellStageConfig* stage = nullptr;
  int64_t min_depth = 1;
  int64_t max_ops = 1;
  bool first = false;
};

void config_fields(ConfigFields& f, StageInSearch& in) {
  CellStageConfig& s = *in.stage;
  f.integer("depth", s.depth, in.min_depth, 64, FieldRule::kRequired);
  f.integer("epochs", s.epochs, 1, 10000, FieldRule::kRequired);
  f.integer("warmup_epochs", s.warmup_epochs, 0, s.epochs);
  if (in.first) {
    f.integer_in("ops", s.ops, {in.max_ops}, FieldRule::kRequired);
  } else {
    f.integer("ops", s.ops, 1, in.max_ops, FieldRule::kRequired);
  }
  f.number("skip_dropout", s.skip_dropout, NumberRange::closed(0.0, 0.99));
}

/// The stages given in the file, or the default stages capped by the op count.
void read_stages(const JsonReader& r, CellSearchConfig& c) {
  if (!r.has("stages")) {
    c.stages.front().ops = static_cast<int64_t>(c.ops.size());
    for (size_t i = 1; i < c.stages.size(); ++i)
      c.stages[i].ops = std::min(c.stages[i].ops, c.stages[i - 1].ops);
    return;
  }
  const JsonReader st = r.at("stages");
  st.expect_array();
  if (st.size() > 16) st.fail("at most 16 stages (got " + std::to_string(st.size()) + ")");
  c.stages.clear();
  for (size_t i = 0; i < st.size(); ++i) {
    CellStageConfig sc;
    sc.warmup_epochs = 0;  // a stage given without warmup_epochs has none
    StageInSearch in{&sc, static_cast<int64_t>(c.supernet.channels().size()),
                     i == 0 ? static_cast<int64_t>(c.ops.size()) : c.stages.back().ops, i == 0};
    read_config(st.at(i), in);
    c.stages.push_back(sc);
  }
}

nlohmann::json write_stages(const CellSearchConfig& c) {
  nlohmann::json stages = nlohmann::json::array();
  for (const CellStageConfig& s : c.stages)
    stages.push_back(write_config(StageInSearch{const_cast<CellStageConfig*>(&s)}));
  return stages;
}

}  // namespace

void config_fields(ConfigFields& f, CellSearchConfig& c) {
  f.format(kCellSearchConfigFormat, "a cell search configuration");
  f.text("name", c.name);
  f.integer("seed", c.seed);
  f.integer("threads", c.threads, 0, 256);
  f.custom(
      "data",
      [&c](const JsonReader& r) {
        if (r.has("data")) read_data_spec(r.at("data"), c.data, /*legacy_subset=*/true);
      },
      [&c] { return to_json(c.data); });
  f.integer("batch_size", c.batch_size, 1, 65536);
  f.enumeration("engine", c.engine, parse_quant_engine);
  // Written only when not the default, so that configurations stored before the field
  // existed still equal their checkpoints' and resume.
  f.enumeration("precision", c.precision, search_precision_names(), FieldRule::kUnlessDefault);
  f.enumeration("weight_quant", c.weight_quant, weight_quant_names(), FieldRule::kUnlessDefault);
  CellSection cell{&c};
  f.nested("cell", cell);
  f.nested("supernet", c.supernet);
  f.custom(
      "stages", [&c](const JsonReader& r) { read_stages(r, c); }, [&c] { return write_stages(c); });
  f.nested("weight_optimizer", c.weight_optimizer);
  f.nested("arch_optimizer", c.arch_optimizer);
  f.integer("max_skip", c.max_skip, 0, 64);
}

nlohmann::json CellSearchConfig::to_json() const { return write_config(*this); }

CellSearchConfig cell_search_config_from_json(const nlohmann::json& j, const std::string& source) {
  CellSearchConfig c;
  read_config(JsonReader(j, source), c);
  return c;
}

CellSearchConfig load_cell_search_config(const std::string& path) {
  return cell_search_config_from_json(load_json_file(path), path);
}

std::string cell_search_checkpoint_path(const Store& store, int64_t experiment_id) {
  return (fs::path(store.path() + ".d") / "cell_search" / std::to_string(experiment_id) / "ckpt.pt")
      .string();
}

DataSplits cell_search_data(const CellSearchConfig& c) {
  return make_splits(c.data, c.seed, /*with_test=*/false, c.name + ": $.data");
}

CellSearchConfig cell_search_config_from_store(const Store& store, int64_t experiment_id) {
  const ExperimentRecord e = store.get_experiment(experiment_id);
  const std::string source = store.path() + ": experiment " + std::to_string(experiment_id);
  if (e.kind != kCellSearchKind)
    throw InputError(source + ": kind '" + e.kind +
                     "' is not a cell search (allowed: " + kCellSearchKind + ")");
  return cell_search_config_from_json(e.config, source);
}

namespace {

void check_batch_fits(const CellSearchConfig& c, const DataSplits& data) {
  const int64_t smaller = std::min(data.train.size(), data.val.size());
  if (smaller < c.batch_size) {
    throw InputError("batch_size: " + std::to_string(c.batch_size) + " exceeds the " +
                     std::to_string(smaller) + " images of the smaller data part (allowed: <= " +
                     std::to_string(smaller) + ", or raise data.train_subset / data.val_size)");
  }
}

/// Everything the checkpoint records besides tensors.
struct LoopPosition {
  int64_t stage = 0;  ///< stage and epoch to run next
  int64_t epoch = 0;
  std::vector<std::vector<std::string>> edge_ops;  ///< op lists of `stage`
  std::vector<CellStageResult> stages;             ///< finished stages
};

nlohmann::json to_json(const LoopPosition& p, const CellSearchConfig& config) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : p.stages)
    stages.push_back({{"stage", s.stage}, {"depth", s.depth}, {"weights", to_json(s.weights)}});
  return {{"format", kCheckpointFormat},
          {"config", config.to_json()},
          {"next_stage", p.stage},
          {"next_epoch", p.epoch},
          {"edge_ops", p.edge_ops},
          {"stages", stages},
          {"rng",
           "torch::manual_seed(mix_seed(mix_seed(seed, 3000 + stage), step)) before every "
           "step; loader batches are functions of (seed, stage, epoch, batch)"}};
}

void save_checkpoint(const std::string& path, const nlohmann::json& state, SupernetImpl* net,
                     const torch::Tensor& alphas, torch::optim::Optimizer* weight_opt,
                     torch::optim::Optimizer* arch_opt) {
  fs::create_directories(fs::path(path).parent_path());
  save_archive_checkpoint(path, state, [&](torch::serialize::OutputArchive& ar) {
    if (net == nullptr) return;
    torch::serialize::OutputArchive n, w, a;
    net->save(n);
    ar.write("net", n);
    ar.write("alphas", alphas.detach());
    weight_opt->save(w);
    ar.write("weight_optimizer", w);
    arch_opt->save(a);
    ar.write("arch_optimizer", a);
  });
}

LoopPosition position_from_json(const nlohmann::json& j, const std::string& path,
                                const CellSearchConfig& config) {
  if (j.at("config") != config.to_json())
    throw InputError(path + ": field 'config': the checkpoint belongs to another configuration");
  LoopPosition p;
  p.stage = j.at("next_stage").get<int64_t>();
  p.epoch = j.at("next_epoch").get<int64_t>();
  p.edge_ops = j.at("edge_ops").get<std::vector<std::vector<std::string>>>();
  for (const auto& s : j.at("stages")) {
    CellStageResult r;
    r.stage = s.at("stage").get<int64_t>();
    r.depth = s.at("depth").get<int64_t>();
    r.weights = arch_weights_from_json(s.at("weights"), path);
    p.stages.push_back(std::move(r));
  }
  const int64_t stages = static_cast<int64_t>(config.stages.size());
  if (p.stage < 0 || p.stage > stages || p.epoch < 0 ||
      (p.stage < stages && p.epoch >= config.stages[static_cast<size_t>(p.stage)].epochs) ||
      static_cast<int64_t>(p.stages.size()) != p.stage)
    throw InputError(path + ": field 'next_stage': inconsistent position");
  return p;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

namespace {

/// Everything a cell search holds across its stages.
struct CellRun {
  CellRun(const CellSearchConfig& c, Store& st, const CellSearchOptions& o)
      : config(c), store(st), options(o) {}

  const CellSearchConfig& config;
  Store& store;
  const CellSearchOptions& options;
  DataSplits data;
  int64_t id = 0;
  int64_t stage_count = 0;
  std::string ckpt_path;
  LoopPosition pos;
  torch::serialize::InputArchive resume_archive;
  bool resume_tensors = false;  ///< the next stage continues from the checkpoint's tensors

  void report(const CellSearchProgress& p) const {
    if (options.on_progress) options.on_progress(p);
  }
  bool stop_requested() const { return options.stop != nullptr && options.stop->load(); }
};

/// The supernet of one stage with its optimizers, loaders and schedules.
struct StageModel {
  Supernet net{nullptr};
  torch::Tensor alphas;  ///< [edges, ops per edge]
  std::unique_ptr<torch::optim::Optimizer> weight_opt;
  std::unique_ptr<torch::optim::Adam> arch_opt;
  std::unique_ptr<DataLoader> train_loader, val_loader;
  int64_t steps_per_epoch = 0;
  std::unique_ptr<LrScheduler> scheduler;
  std::unique_ptr<QatSchedule> schedule;
  TrainStepOptions step_options;
  bool qat = false;  ///< fake quantization on

  /// Puts the supernet and the weight optimizer in the mode of (epoch, global step).
  void enter_mode(int64_t epoch, int64_t global) {
    QatMode mode = schedule->mode_at(epoch, global);
    mode.weights = net->options().weight_quant();
    apply_qat_mode(*net, mode);
    set_gradboost_warmup(*weight_opt, schedule->gradboost_warmup_at(global));
    qat = schedule->qat_active_at(global);
  }
};

/// Creates the experiment, or checks the one being resumed against `config`.
int64_t open_experiment(const CellRun& r) {
  const CellSearchConfig& config = r.config;
  if (r.options.resume_id) {
    const CellSearchConfig stored = cell_search_config_from_store(r.store, *r.options.resume_id);
    if (stored.to_json() != config.to_json()) {
      throw InputError(r.store.path() + ": experiment " + std::to_string(*r.options.resume_id) +
                       ": the given configuration differs from the one it was started with");
    }
    return *r.options.resume_id;
  }
  ExperimentRecord e;
  e.kind = kCellSearchKind;
  e.name = config.name;
  e.config = config.to_json();
  e.seed = static_cast<int64_t>(config.seed);
  return r.store.create_experiment(e).id;
}

/// Where the search continues: the checkpoint's position when resuming, else the start.
void restore_position(CellRun& r) {
  const bool resuming = r.options.resume_id.has_value();
  if (resuming && fs::exists(r.ckpt_path)) {
    const nlohmann::json j =
        load_archive_checkpoint(r.ckpt_path, kCheckpointFormat, r.resume_archive);
    try {
      r.pos = position_from_json(j, r.ckpt_path, r.config);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(r.ckpt_path + ": bad checkpoint state (" + std::string(e.what()) + ")");
    }
    r.resume_tensors = r.pos.stage < r.stage_count && r.pos.epoch > 0;
    r.store.set_experiment_status(r.id, ExperimentStatus::kRunning);
    r.store.log_event(r.id, EventLevel::kInfo,
                      "resumed at stage " + std::to_string(r.pos.stage + 1) + " epoch " +
                          std::to_string(r.pos.epoch + 1));
    return;
  }
  r.pos.edge_ops.assign(static_cast<size_t>(cell_edge_count(r.config.nodes)), r.config.ops);
  if (resuming) {
    r.store.set_experiment_status(r.id, ExperimentStatus::kRunning);
    r.store.log_event(r.id, EventLevel::kInfo, "resumed from the start (no checkpoint yet)");
  } else {
    r.store.log_event(r.id, EventLevel::kInfo,
                      "cell search started: " + std::to_string(r.data.train.size()) + " train / " +
                          std::to_string(r.data.val.size()) + " val samples of " +
                          r.config.data.name);
  }
}

/// A fresh supernet of `stage` (seeded per stage) with its alphas, optimizers and loaders.
StageModel build_stage(const CellRun& r, int64_t stage) {
  const CellSearchConfig& config = r.config;
  const CellStageConfig& sc = config.stages[static_cast<size_t>(stage)];
  SupernetOptions so = config.supernet;
  so.in_channels(r.data.train.channels())
      .input_size(r.data.train.height())
      .num_classes(r.data.train.num_classes)
      .depth(sc.depth)
      .nodes(config.nodes)
      .join(config.join)
      .edge_ops(r.pos.edge_ops)
      .engine(config.engine)
      .weight_quant(config.weight_quant);
  torch::manual_seed(mix_seed(config.seed, kInitStream + static_cast<uint64_t>(stage)));
  StageModel m;
  m.net = Supernet(so);
  m.alphas = (config.arch_optimizer.init_scale *
              torch::randn({cell_edge_count(config.nodes), m.net->ops_per_edge()}))
                 .set_requires_grad(true);
  m.weight_opt =
      make_optimizer(config.weight_optimizer.optimizer,
                     split_weight_decay(*m.net, config.weight_optimizer.other_weight_decay_scale));
  m.arch_opt = std::make_unique<torch::optim::Adam>(
      std::vector<torch::Tensor>{m.alphas},
      torch::optim::AdamOptions(config.arch_optimizer.lr)
          .betas({config.arch_optimizer.beta1, config.arch_optimizer.beta2})
          .weight_decay(config.arch_optimizer.weight_decay));
  const auto make_loader = [&](const ImageDataset& d, uint64_t stream) {
    return std::make_unique<DataLoader>(d, DataLoaderOptions()
                                               .batch_size(config.batch_size)
                                               .shuffle(true)
                                               .drop_last(true)
                                               .seed(mix_seed(config.seed, stream))
                                               .prefetch(0));
  };
  const uint64_t loader_stream = kLoaderStream + 2 * static_cast<uint64_t>(stage);
  m.train_loader = make_loader(r.data.train, loader_stream);
  m.val_loader = make_loader(r.data.val, loader_stream + 1);
  m.steps_per_epoch =
      std::min(m.train_loader->batches_per_epoch(), m.val_loader->batches_per_epoch());
  ScheduleConfig sched;
  sched.name = "cosine";
  sched.total = m.steps_per_epoch * sc.epochs;
  sched.min_lr = config.weight_optimizer.min_lr;
  m.scheduler = std::make_unique<LrScheduler>(*m.weight_opt, make_schedule(sched));
  m.schedule = std::make_unique<QatSchedule>(
      config.precision == SearchPrecision::kFp32 ? QatScheme::kNone : QatScheme::kStatAssist,
      config.weight_optimizer.fp_warmup_epochs, m.steps_per_epoch);
  m.step_options.grad_clip = config.weight_optimizer.grad_clip;
  m.step_options.clip_params = m.net->parameters();
  return m;
}

/// Loads the checkpoint's tensors into the stage it interrupted.
void load_stage_tensors(CellRun& r, StageModel& m) {
  try {
    torch::serialize::InputArchive n, w, a;
    r.resume_archive.read("net", n);
    m.net->load(n);
    r.resume_archive.read("alphas", m.alphas);
    r.resume_archive.read("weight_optimizer", w);
    m.weight_opt->load(w);
    r.resume_archive.read("arch_optimizer", a);
    m.arch_opt->load(a);
  } catch (const c10::Error& e) {
    throw InputError(r.ckpt_path + ": checkpoint does not match the supernet (" +
                     std::string(e.what_without_backtrace()).substr(0, 160) + ")");
  }
  r.resume_tensors = false;
}

/// Running sums of an epoch.
struct EpochTally {
  double train_loss = 0, val_loss = 0;
  int64_t train_correct = 0, val_correct = 0, seen = 0;
};

/// One first-order architecture step: d L_val / d alpha with the weights fixed.
void arch_step(StageModel& m, const Batch& vb, EpochTally& t, const std::string& where) {
  const torch::Tensor logits = m.net->forward(vb.x, torch::softmax(m.alphas, -1));
  const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, vb.y);
  const double v = loss.item<double>();
  if (!std::isfinite(v)) throw std::runtime_error("non-finite validation loss at " + where);
  torch::Tensor g = torch::autograd::grad({loss}, {m.alphas})[0];
  m.alphas.mutable_grad() = g;
  m.arch_opt->step();
  m.alphas.mutable_grad() = torch::Tensor();
  t.val_loss += v;
  t.val_correct += logits.detach().argmax(1).eq(vb.y).sum().item<int64_t>();
}

/// Step `step` of `epoch`: mode switch, per-step seed, the arch step (when active) and the
/// weight step; updates `prog` with the epoch's running figures.
void search_step(CellRun& r, StageModel& m, int64_t stage, int64_t epoch, int64_t step,
                 EpochTally& t, CellSearchProgress& prog) {
  const int64_t global = epoch * m.steps_per_epoch + step;
  const std::string where = stage_name(stage) + " epoch " + std::to_string(epoch + 1);
  if (m.schedule->qat_active_at(global) != m.qat) {
    m.enter_mode(epoch, global);
    r.store.log_event(r.id, EventLevel::kInfo,
                      stage_name(stage) + ": fake quantization on at epoch " +
                          std::to_string(epoch + 1) + " step " + std::to_string(step));
  }
  seed_step(r.config.seed, kStepStream + static_cast<uint64_t>(stage), global);
  auto tb = m.train_loader->next();
  auto vb = m.val_loader->next();
  TORCH_CHECK(tb && vb, "run_cell_search: a loader ran out of batches");
  if (prog.arch_active) arch_step(m, *vb, t, where);

  const double lr = m.scheduler->set_step(global);
  const torch::Tensor weights = torch::softmax(m.alphas, -1).detach();
  const StepOutcome out = train_step(
      *m.net, [&](const torch::Tensor& x) { return m.net->forward(x, weights); }, *m.weight_opt,
      *tb, m.step_options);
  if (!std::isfinite(out.loss)) throw std::runtime_error("non-finite training loss at " + where);
  t.train_loss += out.loss;
  t.train_correct += out.correct;
  t.seen += tb->y.size(0);

  const double n = static_cast<double>(step + 1);
  prog.event = CellSearchProgress::Event::kStep;
  prog.step = step + 1;
  prog.lr = lr;
  prog.qat_active = m.qat;
  prog.train_loss = t.train_loss / n;
  prog.train_acc = 100.0 * static_cast<double>(t.train_correct) / static_cast<double>(t.seen);
  if (prog.arch_active) {
    prog.val_loss = t.val_loss / n;
    prog.val_acc = 100.0 * static_cast<double>(t.val_correct) / static_cast<double>(t.seen);
  }
}

/// Records the epoch's architecture weights and figures in the store.
ArchWeights record_epoch(CellRun& r, StageModel& m, int64_t stage, int64_t epoch,
                         const CellSearchProgress& prog, double seconds) {
  const CellStageConfig& sc = r.config.stages[static_cast<size_t>(stage)];
  const ArchWeights weights = arch_weights_from_alphas(r.config.nodes, r.pos.edge_ops, m.alphas);
  nlohmann::json record = to_json(weights);
  record["depth"] = sc.depth;
  record["train_loss"] = prog.train_loss;
  record["train_acc"] = prog.train_acc;
  record["val_loss"] = prog.arch_active ? nlohmann::json(prog.val_loss) : nlohmann::json();
  record["val_acc"] = prog.arch_active ? nlohmann::json(prog.val_acc) : nlohmann::json();
  record["qat"] = m.qat;
  record["skip_dropout"] = prog.skip_dropout;
  r.store.add_arch_weights(r.id, stage, epoch, record);
  r.store.log_event(r.id, EventLevel::kInfo,
                    stage_name(stage) + " epoch " + std::to_string(epoch + 1) + "/" +
                        std::to_string(sc.epochs) + ": train loss " + fixed(prog.train_loss, 4) +
                        " acc " + fixed(prog.train_acc, 2) +
                        (prog.arch_active ? "%, val acc " + fixed(prog.val_acc, 2) : "%") +
                        (m.qat ? " (qat)" : " (float)") + ", " + fixed(seconds, 1) + " s");
  return weights;
}

/// Ends a stage: prunes every edge to the next stage's op count, records the stage and
/// checkpoints the position (no tensors: the next stage starts fresh).
void finish_stage(CellRun& r, int64_t stage, const ArchWeights& weights, CellSearchProgress& prog) {
  const CellStageConfig& sc = r.config.stages[static_cast<size_t>(stage)];
  r.pos.stages.push_back(CellStageResult{stage, sc.depth, weights});
  std::vector<std::vector<std::string>> next_ops;
  if (stage + 1 < r.stage_count) {
    next_ops = prune_edge_ops(weights, r.config.stages[static_cast<size_t>(stage + 1)].ops,
                              /*drop_none_first=*/stage + 2 == r.stage_count);
  }
  r.store.set_stage(r.id, stage_name(stage), StageStatus::kDone,
                    {{"depth", sc.depth}, {"weights", to_json(weights)}, {"next_ops", next_ops}});
  prog.event = CellSearchProgress::Event::kStageEnd;
  prog.next_ops = stage + 1 < r.stage_count ? &next_ops : nullptr;
  r.report(prog);
  prog.next_ops = nullptr;
  r.pos.stage = stage + 1;
  r.pos.epoch = 0;
  if (!next_ops.empty()) r.pos.edge_ops = next_ops;
  save_checkpoint(r.ckpt_path, to_json(r.pos, r.config), nullptr, {}, nullptr, nullptr);
}

/// The progress record of the start of (stage, epoch).
CellSearchProgress epoch_progress(const CellRun& r, const StageModel& m, int64_t stage,
                                  int64_t epoch) {
  const CellStageConfig& sc = r.config.stages[static_cast<size_t>(stage)];
  CellSearchProgress prog;
  prog.stage = stage;
  prog.stages = r.stage_count;
  prog.epoch = epoch;
  prog.epochs = sc.epochs;
  prog.steps = m.steps_per_epoch;
  prog.batch_size = r.config.batch_size;
  prog.skip_dropout =
      sc.skip_dropout * static_cast<double>(sc.epochs - epoch - 1) / static_cast<double>(sc.epochs);
  prog.arch_active = epoch >= sc.warmup_epochs;
  prog.qat_active = m.qat;
  prog.val_loss = prog.val_acc = kNaN;
  prog.train_loss = prog.train_acc = kNaN;
  prog.event = CellSearchProgress::Event::kEpochStart;
  return prog;
}

/// How an epoch ended.
enum class EpochEnd { kContinue, kInterrupted };

/// Trains one epoch of `stage`, records it and checkpoints; `where` names an interruption.
EpochEnd run_epoch(CellRun& r, StageModel& m, int64_t stage, int64_t epoch, std::string& where) {
  const auto epoch_start = std::chrono::steady_clock::now();
  CellSearchProgress prog = epoch_progress(r, m, stage, epoch);
  m.net->set_skip_dropout(prog.skip_dropout);
  m.train_loader->start_epoch(epoch);
  m.val_loader->start_epoch(epoch);
  r.report(prog);
  EpochTally tally;
  m.net->train();
  for (int64_t step = 0; step < m.steps_per_epoch; ++step) {
    search_step(r, m, stage, epoch, step, tally, prog);
    r.report(prog);
    if (r.stop_requested()) {
      where = "during " + stage_name(stage) + " epoch " + std::to_string(epoch + 1) +
              " (resume repeats that epoch)";
      return EpochEnd::kInterrupted;
    }
  }
  const ArchWeights weights = record_epoch(r, m, stage, epoch, prog, seconds_since(epoch_start));
  prog.event = CellSearchProgress::Event::kEpochEnd;
  prog.weights = &weights;
  r.report(prog);
  if (epoch + 1 == r.config.stages[static_cast<size_t>(stage)].epochs) {
    finish_stage(r, stage, weights, prog);
  } else {
    r.pos.stage = stage;
    r.pos.epoch = epoch + 1;
    save_checkpoint(r.ckpt_path, to_json(r.pos, r.config), m.net.get(), m.alphas,
                    m.weight_opt.get(), m.arch_opt.get());
  }
  if (r.stop_requested()) {
    where = "after " + stage_name(stage) + " epoch " + std::to_string(epoch + 1);
    return EpochEnd::kInterrupted;
  }
  return EpochEnd::kContinue;
}

/// Runs the stages from the current position; returns false when interrupted (`where`).
bool run_stages(CellRun& r, std::string& where) {
  for (int64_t stage = r.pos.stage; stage < r.stage_count; ++stage) {
    const CellStageConfig& sc = r.config.stages[static_cast<size_t>(stage)];
    r.store.set_stage(r.id, stage_name(stage), StageStatus::kRunning,
                      {{"depth", sc.depth}, {"edge_ops", r.pos.edge_ops}});
    StageModel m = build_stage(r, stage);
    int64_t first_epoch = 0;
    if (r.resume_tensors && stage == r.pos.stage) {
      load_stage_tensors(r, m);
      first_epoch = r.pos.epoch;
    }
    m.enter_mode(first_epoch, first_epoch * m.steps_per_epoch);
    for (int64_t epoch = first_epoch; epoch < sc.epochs; ++epoch) {
      if (run_epoch(r, m, stage, epoch, where) == EpochEnd::kInterrupted) return false;
    }
  }
  return true;
}

/// Derives the genotype from the last stage's weights (skip cap applied) and records it with
/// the evidence of which edges are decided.
Genotype derive_and_record(CellRun& r, DerivationEvidence& evidence) {
  const ArchWeights& last = r.pos.stages.back().weights;
  std::vector<CellEdgeSlot> removed;
  Genotype g = derive_genotype(last, r.config.join, r.config.max_skip, &removed);
  g.name = r.config.name;
  evidence = assess_derivation(last, g);
  nlohmann::json removed_json = nlohmann::json::array();
  for (const auto& e : removed) removed_json.push_back(to_string(e));
  r.store.set_stage(r.id, "derive", StageStatus::kDone,
                    {{"genotype", to_json(g)},
                     {"uncapped", to_json(derive_genotype_uncapped(last, r.config.join))},
                     {"skip_removed", removed_json},
                     {"canonical", canonical_string(g)},
                     {"evidence", to_json(evidence)}});
  r.store.log_event(r.id, EventLevel::kInfo, "derived genotype " + canonical_string(g));
  r.store.log_event(r.id, evidence.decided() ? EventLevel::kInfo : EventLevel::kWarning,
                    describe_derivation(evidence));
  return g;
}

}  // namespace

CellSearchResult run_cell_search(const CellSearchConfig& config, Store& store,
                                 const CellSearchOptions& options) {
  configure_runtime(config.threads);
  CellRun r(config, store, options);
  r.data = cell_search_data(config);
  check_batch_fits(config, r.data);
  r.stage_count = static_cast<int64_t>(config.stages.size());
  if (r.stage_count < 1) throw InputError("stages: at least one stage is needed");
  CellSearchResult result;
  r.id = result.experiment_id = open_experiment(r);
  r.ckpt_path = result.checkpoint_path = cell_search_checkpoint_path(store, r.id);
  restore_position(r);
  try {
    std::string where;
    if (!run_stages(r, where)) {
      store.set_experiment_status(r.id, ExperimentStatus::kInterrupted);
      store.log_event(r.id, EventLevel::kWarning, "interrupted " + where);
      result.interrupted = true;
      result.stages = r.pos.stages;
      return result;
    }
    result.stages = r.pos.stages;
    result.genotype = derive_and_record(r, result.evidence);
    store.set_experiment_status(r.id, ExperimentStatus::kDone);
  } catch (const InputError&) {
    store.set_experiment_status(r.id, ExperimentStatus::kFailed);
    throw;
  } catch (const std::exception& e) {
    store.log_event(r.id, EventLevel::kError, std::string(e.what()).substr(0, 500));
    store.set_experiment_status(r.id, ExperimentStatus::kFailed);
    throw;
  }
  return result;
}

std::vector<ArchWeights> stored_stage_weights(const Store& store, int64_t experiment_id) {
  std::map<int64_t, ArchWeightsRecord> last;
  for (const auto& r : store.list_arch_weights(experiment_id)) last[r.stage] = r;
  std::vector<ArchWeights> out;
  for (const auto& [stage, r] : last) {
    const std::string source = store.path() + ": experiment " + std::to_string(experiment_id) +
                               " stage " + std::to_string(stage) + " weights";
    if (!r.weights.is_object() || !r.weights.contains("nodes") || !r.weights.contains("edges"))
      throw InputError(source + ": expected the fields nodes and edges");
    // The epoch's losses and phases are stored next to the weights.
    const nlohmann::json w = {{"nodes", r.weights.at("nodes")}, {"edges", r.weights.at("edges")}};
    out.push_back(arch_weights_from_json(w, source));
  }
  return out;
}

std::optional<DerivationEvidence> stored_derivation_evidence(const Store& store,
                                                             int64_t experiment_id) {
  const auto derive = store.get_stage(experiment_id, "derive");
  if (!derive || !derive->result.contains("genotype")) return std::nullopt;
  const std::string source =
      store.path() + ": experiment " + std::to_string(experiment_id) + " stage derive";
  if (derive->result.contains("evidence"))
    return derivation_evidence_from_json(derive->result.at("evidence"), source + ": evidence");
  const Genotype g = genotype_from_json(derive->result.at("genotype"), source, "$.genotype");
  const auto weights = stored_stage_weights(store, experiment_id);
  if (weights.empty()) return std::nullopt;
  try {
    return assess_derivation(weights.back(), g);
  } catch (const std::invalid_argument& e) {
    throw InputError(source + ": the genotype does not match the last stage's weights (" +
                     e.what() + ")");
  }
}

}  // namespace frostnas
