#include "search/cell/cell_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>

#include "space/json_reader.h"
#include "trainer/data/data_loader.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"
#include "trainer/data/rng.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/param_groups.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/train/train_model.h"

namespace fs = std::filesystem;

namespace frostnas {

namespace {

constexpr const char* kCheckpointFormat = "frostnas.cell_search_ckpt/1";
// Independent random streams (mixed with the seed and the stage or step).
constexpr uint64_t kDataStream = 11;
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

nlohmann::json CellSearchConfig::to_json() const {
  nlohmann::json st = nlohmann::json::array();
  for (const auto& s : stages) {
    st.push_back({{"depth", s.depth},
                  {"epochs", s.epochs},
                  {"warmup_epochs", s.warmup_epochs},
                  {"ops", s.ops},
                  {"skip_dropout", s.skip_dropout}});
  }
  const auto& o = weight_optimizer.optimizer;
  return {{"format", kCellSearchConfigFormat},
          {"name", name},
          {"seed", seed},
          {"threads", threads},
          {"data", {{"name", data.name}, {"dir", data.dir}, {"subset", data.subset}}},
          {"batch_size", batch_size},
          {"engine", frostnas::to_string(engine)},
          {"cell", {{"nodes", nodes}, {"join", frostnas::to_string(join)}, {"ops", ops}}},
          {"supernet",
           {{"stem_channels", supernet.stem_channels()},
            {"channels", supernet.channels()},
            {"expansion", supernet.expansion()},
            {"kernel", supernet.kernel()},
            {"rf", supernet.rf()},
            {"head_channels", supernet.head_channels()}}},
          {"stages", st},
          {"weight_optimizer",
           {{"name", o.name},
            {"lr", o.lr},
            {"min_lr", weight_optimizer.min_lr},
            {"momentum", o.momentum},
            {"nesterov", o.nesterov},
            {"weight_decay", o.weight_decay},
            {"other_weight_decay_scale", weight_optimizer.other_weight_decay_scale},
            {"grad_clip", weight_optimizer.grad_clip},
            {"fp_warmup_epochs", weight_optimizer.fp_warmup_epochs},
            {"boost_beta", o.boost_beta},
            {"clip_by", o.clip_by},
            {"toss_coin", o.toss_coin},
            {"noise_decay", o.noise_decay}}},
          {"arch_optimizer",
           {{"lr", arch_optimizer.lr},
            {"beta1", arch_optimizer.beta1},
            {"beta2", arch_optimizer.beta2},
            {"weight_decay", arch_optimizer.weight_decay},
            {"init_scale", arch_optimizer.init_scale}}},
          {"max_skip", max_skip}};
}

CellSearchConfig cell_search_config_from_json(const nlohmann::json& j, const std::string& source) {
  JsonReader r(j, source);
  r.expect_object({"format", "name", "seed", "threads", "data", "batch_size", "engine", "cell",
                   "supernet", "stages", "weight_optimizer", "arch_optimizer", "max_skip"});
  const std::string format = r.get_string("format");
  if (format != kCellSearchConfigFormat) {
    r.fail_at("format", "\"" + format + "\" is not a cell search configuration (allowed: " +
                            kCellSearchConfigFormat + ")");
  }
  CellSearchConfig c;
  c.name = r.get_string_or("name", c.name);
  c.seed = static_cast<uint64_t>(r.get_int_or("seed", 0, 0, INT64_MAX));
  c.threads = r.get_int_or("threads", 0, 0, 256);
  if (r.has("data")) {
    const JsonReader d = r.at("data");
    d.expect_object({"name", "dir", "subset"});
    if (d.has("name")) {
      c.data.name = d.get_string("name");
      if (!is_known_dataset(c.data.name)) d.fail_at("name", unknown_dataset_message(c.data.name));
    }
    c.data.dir = d.get_string_or("dir", "");
    c.data.subset = d.get_int_or("subset", c.data.subset, 0, INT64_MAX);
    if (c.data.subset == 1) d.fail_at("subset", "1 is out of range (allowed: 0 = all, or >= 2)");
  }
  c.batch_size = r.get_int_or("batch_size", c.batch_size, 1, 65536);
  if (r.has("engine")) c.engine = parse_quant_engine(r.get_string("engine"), source + ": $.engine");

  if (r.has("cell")) {
    const JsonReader cell = r.at("cell");
    cell.expect_object({"nodes", "join", "ops"});
    c.nodes = cell.get_int_or("nodes", c.nodes, 1, 8);
    if (cell.has("join"))
      c.join = cell.get_string_in("join", cell_join_names()) == "concat" ? CellJoin::kConcat
                                                                         : CellJoin::kSum;
    if (cell.has("ops")) {
      c.ops = op_array(cell, "ops");
      if (std::all_of(c.ops.begin(), c.ops.end(), [](const auto& s) { return s == "none"; }))
        cell.fail_at("ops", "needs at least one op other than none");
    }
  }

  if (r.has("supernet")) {
    const JsonReader s = r.at("supernet");
    s.expect_object({"stem_channels", "channels", "expansion", "kernel", "rf", "head_channels"});
    auto& o = c.supernet;
    o.stem_channels(s.get_int_or("stem_channels", o.stem_channels(), 1, 4096));
    if (s.has("channels")) o.channels(int_array(s, "channels", 1, 4096));
    o.expansion(s.get_int_or("expansion", o.expansion(), 1, 16));
    if (s.has("kernel")) o.kernel(s.get_int_in("kernel", {1, 3, 5, 7}));
    o.rf(s.get_int_or("rf", o.rf(), 1, 64));
    o.head_channels(s.get_int_or("head_channels", o.head_channels(), 1, 8192));
  }

  if (r.has("stages")) {
    const JsonReader st = r.at("stages");
    st.expect_array();
    if (st.size() > 16) st.fail("at most 16 stages (got " + std::to_string(st.size()) + ")");
    c.stages.clear();
    for (size_t i = 0; i < st.size(); ++i) {
      const JsonReader s = st.at(i);
      s.expect_object({"depth", "epochs", "warmup_epochs", "ops", "skip_dropout"});
      CellStageConfig sc;
      const int64_t sections = static_cast<int64_t>(c.supernet.channels().size());
      sc.depth = s.get_int("depth", sections, 64);
      sc.epochs = s.get_int("epochs", 1, 10000);
      sc.warmup_epochs = s.get_int_or("warmup_epochs", 0, 0, sc.epochs);
      const int64_t max_ops = i == 0 ? static_cast<int64_t>(c.ops.size()) : c.stages.back().ops;
      sc.ops = i == 0 ? s.get_int_in("ops", {max_ops}) : s.get_int("ops", 1, max_ops);
      sc.skip_dropout = s.get_double_or("skip_dropout", 0.0, 0.0, 0.99);
      c.stages.push_back(sc);
    }
  } else {
    c.stages.front().ops = static_cast<int64_t>(c.ops.size());
    for (size_t i = 1; i < c.stages.size(); ++i)
      c.stages[i].ops = std::min(c.stages[i].ops, c.stages[i - 1].ops);
  }

  if (r.has("weight_optimizer")) {
    const JsonReader w = r.at("weight_optimizer");
    w.expect_object({"name", "lr", "min_lr", "momentum", "nesterov", "weight_decay",
                     "other_weight_decay_scale", "grad_clip", "fp_warmup_epochs", "boost_beta",
                     "clip_by", "toss_coin", "noise_decay"});
    auto& wo = c.weight_optimizer;
    auto& o = wo.optimizer;
    if (w.has("name")) o.name = w.get_string_in("name", optimizer_names());
    o.lr = w.get_double_or("lr", o.lr, 0.0, 10.0, /*lo_open=*/true);
    wo.min_lr = w.get_double_or("min_lr", wo.min_lr, 0.0, 10.0);
    if (wo.min_lr > o.lr) w.fail_at("min_lr", "must not exceed lr");
    o.momentum = w.get_double_or("momentum", o.momentum, 0.0, 0.999);
    o.nesterov = w.get_bool_or("nesterov", o.nesterov);
    o.weight_decay = w.get_double_or("weight_decay", o.weight_decay, 0.0, 1.0);
    wo.other_weight_decay_scale =
        w.get_double_or("other_weight_decay_scale", wo.other_weight_decay_scale, 0.0, 1.0);
    wo.grad_clip = w.get_double_or("grad_clip", wo.grad_clip, 0.0, 1e6);
    wo.fp_warmup_epochs = w.get_double_or("fp_warmup_epochs", wo.fp_warmup_epochs, 0.0, 10000.0);
    o.boost_beta = w.get_double_or("boost_beta", o.boost_beta, 0.0, 1.0, /*lo_open=*/true);
    o.clip_by = w.get_double_or("clip_by", o.clip_by, 0.0, 1.0);
    o.toss_coin = w.get_bool_or("toss_coin", o.toss_coin);
    o.noise_decay = w.get_double_or("noise_decay", o.noise_decay, 0.0, 1.0);
    if (o.nesterov && o.momentum <= 0.0) w.fail_at("nesterov", "needs momentum > 0");
  }
  if (r.has("arch_optimizer")) {
    const JsonReader a = r.at("arch_optimizer");
    a.expect_object({"lr", "beta1", "beta2", "weight_decay", "init_scale"});
    auto& ao = c.arch_optimizer;
    ao.lr = a.get_double_or("lr", ao.lr, 0.0, 10.0, /*lo_open=*/true);
    ao.beta1 = a.get_double_or("beta1", ao.beta1, 0.0, 0.9999);
    ao.beta2 = a.get_double_or("beta2", ao.beta2, 0.0, 0.9999);
    ao.weight_decay = a.get_double_or("weight_decay", ao.weight_decay, 0.0, 1.0);
    ao.init_scale = a.get_double_or("init_scale", ao.init_scale, 0.0, 10.0);
  }
  c.max_skip = r.get_int_or("max_skip", c.max_skip, 0, 64);
  return c;
}

CellSearchConfig load_cell_search_config(const std::string& path) {
  return cell_search_config_from_json(load_json_file(path), path);
}

std::string cell_search_checkpoint_path(const Store& store, int64_t experiment_id) {
  return (fs::path(store.path() + ".d") / "cell_search" / std::to_string(experiment_id) / "ckpt.pt")
      .string();
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

struct SearchData {
  ImageDataset train;
  ImageDataset val;
};

SearchData load_search_data(const CellSearchConfig& c) {
  ImageDataset all = load_dataset(c.data.name, "train", c.data.dir);
  if (c.data.subset > 0) all = take_subset(all, c.data.subset, mix_seed(c.seed, kDataStream));
  if (all.size() < 2) throw InputError("data.subset: need at least 2 samples");
  TrainValSplit split = split_train_val(all, all.size() / 2, mix_seed(c.seed, kDataStream + 1));
  const int64_t half = std::min(split.train.size(), split.val.size());
  if (half < c.batch_size) {
    throw InputError(
        "batch_size: " + std::to_string(c.batch_size) + " exceeds the " + std::to_string(half) +
        " samples of each half of data.subset (allowed: <= " + std::to_string(half) + ")");
  }
  return {std::move(split.train), std::move(split.val)};
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
  torch::serialize::OutputArchive ar;
  ar.write("state", c10::IValue(state.dump()));
  if (net != nullptr) {
    torch::serialize::OutputArchive n, w, a;
    net->save(n);
    ar.write("net", n);
    ar.write("alphas", alphas.detach());
    weight_opt->save(w);
    ar.write("weight_optimizer", w);
    arch_opt->save(a);
    ar.write("arch_optimizer", a);
  }
  const std::string tmp = path + ".tmp";
  ar.save_to(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot rename " + tmp + " into place");
  }
}

/// Reads the JSON state of a checkpoint (and keeps the archive open in `ar`).
nlohmann::json read_checkpoint_state(const std::string& path, torch::serialize::InputArchive& ar) {
  try {
    ar.load_from(path);
    c10::IValue v;
    ar.read("state", v);
    nlohmann::json j = nlohmann::json::parse(v.toStringRef());
    if (!j.is_object() || j.value("format", "") != kCheckpointFormat)
      throw InputError(path + ": field 'format': expected '" + kCheckpointFormat + "'");
    return j;
  } catch (const c10::Error& e) {
    throw InputError(path + ": unreadable checkpoint (" +
                     std::string(e.what_without_backtrace()).substr(0, 160) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": bad checkpoint state (" + std::string(e.what()) + ")");
  }
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

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

CellSearchResult run_cell_search(const CellSearchConfig& config, Store& store,
                                 const CellSearchOptions& options) {
  configure_runtime(config.threads);
  const SearchData data = load_search_data(config);
  const int64_t stage_count = static_cast<int64_t>(config.stages.size());
  if (stage_count < 1) throw InputError("stages: at least one stage is needed");

  CellSearchResult result;
  LoopPosition pos;
  if (options.resume_id) {
    const CellSearchConfig stored = cell_search_config_from_store(store, *options.resume_id);
    if (stored.to_json() != config.to_json()) {
      throw InputError(store.path() + ": experiment " + std::to_string(*options.resume_id) +
                       ": the given configuration differs from the one it was started with");
    }
    result.experiment_id = *options.resume_id;
  } else {
    ExperimentRecord e;
    e.kind = kCellSearchKind;
    e.name = config.name;
    e.config = config.to_json();
    e.seed = static_cast<int64_t>(config.seed);
    result.experiment_id = store.create_experiment(e).id;
  }
  const int64_t id = result.experiment_id;
  const std::string ckpt_path = cell_search_checkpoint_path(store, id);
  result.checkpoint_path = ckpt_path;

  torch::serialize::InputArchive resume_archive;
  bool resume_tensors = false;
  if (options.resume_id && fs::exists(ckpt_path)) {
    const nlohmann::json j = read_checkpoint_state(ckpt_path, resume_archive);
    try {
      pos = position_from_json(j, ckpt_path, config);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(ckpt_path + ": bad checkpoint state (" + std::string(e.what()) + ")");
    }
    resume_tensors = pos.stage < stage_count && pos.epoch > 0;
    store.set_experiment_status(id, "running");
    store.log_event(id, "info",
                    "resumed at stage " + std::to_string(pos.stage + 1) + " epoch " +
                        std::to_string(pos.epoch + 1));
  } else {
    pos.edge_ops.assign(static_cast<size_t>(cell_edge_count(config.nodes)), config.ops);
    if (options.resume_id) {
      store.set_experiment_status(id, "running");
      store.log_event(id, "info", "resumed from the start (no checkpoint yet)");
    } else {
      store.log_event(id, "info",
                      "cell search started: " + std::to_string(data.train.size()) + " train / " +
                          std::to_string(data.val.size()) + " val samples of " + config.data.name);
    }
  }

  const auto report = [&](const CellSearchProgress& p) {
    if (options.on_progress) options.on_progress(p);
  };
  const auto stop_requested = [&] { return options.stop != nullptr && options.stop->load(); };
  const auto interrupt = [&](const std::string& where) {
    store.set_experiment_status(id, "interrupted");
    store.log_event(id, "warning", "interrupted " + where);
    result.interrupted = true;
    result.stages = pos.stages;
    return result;
  };

  try {
    for (int64_t stage = pos.stage; stage < stage_count; ++stage) {
      const CellStageConfig& sc = config.stages[static_cast<size_t>(stage)];
      store.set_stage(id, stage_name(stage), "running",
                      {{"depth", sc.depth}, {"edge_ops", pos.edge_ops}});

      SupernetOptions so = config.supernet;
      so.in_channels(data.train.channels())
          .input_size(data.train.height())
          .num_classes(data.train.num_classes)
          .depth(sc.depth)
          .nodes(config.nodes)
          .join(config.join)
          .edge_ops(pos.edge_ops)
          .engine(config.engine);
      torch::manual_seed(mix_seed(config.seed, kInitStream + static_cast<uint64_t>(stage)));
      Supernet net(so);
      torch::Tensor alphas = (config.arch_optimizer.init_scale *
                              torch::randn({cell_edge_count(config.nodes), net->ops_per_edge()}))
                                 .set_requires_grad(true);
      auto weight_opt = make_optimizer(
          config.weight_optimizer.optimizer,
          split_weight_decay(*net, config.weight_optimizer.other_weight_decay_scale));
      torch::optim::Adam arch_opt(
          {alphas}, torch::optim::AdamOptions(config.arch_optimizer.lr)
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
      auto train_loader = make_loader(data.train, loader_stream);
      auto val_loader = make_loader(data.val, loader_stream + 1);
      const int64_t spe =
          std::min(train_loader->batches_per_epoch(), val_loader->batches_per_epoch());
      const int64_t total_steps = spe * sc.epochs;
      ScheduleConfig sched;
      sched.name = "cosine";
      sched.total = total_steps;
      sched.min_lr = config.weight_optimizer.min_lr;
      LrScheduler scheduler(*weight_opt, make_schedule(sched));
      const int64_t switch_step =
          std::llround(config.weight_optimizer.fp_warmup_epochs * static_cast<double>(spe));
      const auto qat_at = [&](int64_t global) { return global >= switch_step; };

      int64_t first_epoch = 0;
      if (resume_tensors && stage == pos.stage) {
        try {
          torch::serialize::InputArchive n, w, a;
          resume_archive.read("net", n);
          net->load(n);
          resume_archive.read("alphas", alphas);
          resume_archive.read("weight_optimizer", w);
          weight_opt->load(w);
          resume_archive.read("arch_optimizer", a);
          arch_opt.load(a);
        } catch (const c10::Error& e) {
          throw InputError(ckpt_path + ": checkpoint does not match the supernet (" +
                           std::string(e.what_without_backtrace()).substr(0, 160) + ")");
        }
        first_epoch = pos.epoch;
        resume_tensors = false;
      }
      bool qat = qat_at(first_epoch * spe);
      apply_qat_mode(*net, qat ? QatMode::qat() : QatMode::float_mode());
      set_gradboost_warmup(*weight_opt, !qat);
      std::vector<torch::Tensor> weight_params = net->parameters();

      for (int64_t epoch = first_epoch; epoch < sc.epochs; ++epoch) {
        const auto epoch_start = std::chrono::steady_clock::now();
        const double p_skip = sc.skip_dropout * static_cast<double>(sc.epochs - epoch - 1) /
                              static_cast<double>(sc.epochs);
        net->set_skip_dropout(p_skip);
        const bool arch_active = epoch >= sc.warmup_epochs;
        train_loader->start_epoch(epoch);
        val_loader->start_epoch(epoch);

        CellSearchProgress prog;
        prog.stage = stage;
        prog.stages = stage_count;
        prog.epoch = epoch;
        prog.epochs = sc.epochs;
        prog.steps = spe;
        prog.batch_size = config.batch_size;
        prog.skip_dropout = p_skip;
        prog.arch_active = arch_active;
        prog.qat_active = qat;
        prog.val_loss = prog.val_acc = kNaN;
        prog.train_loss = prog.train_acc = kNaN;
        prog.event = CellSearchProgress::Event::kEpochStart;
        report(prog);

        double train_loss = 0, val_loss = 0;
        int64_t train_correct = 0, val_correct = 0, seen = 0;
        net->train();
        for (int64_t step = 0; step < spe; ++step) {
          const int64_t global = epoch * spe + step;
          if (qat_at(global) != qat) {
            qat = qat_at(global);
            apply_qat_mode(*net, qat ? QatMode::qat() : QatMode::float_mode());
            set_gradboost_warmup(*weight_opt, !qat);
            store.log_event(id, "info",
                            stage_name(stage) + ": fake quantization on at epoch " +
                                std::to_string(epoch + 1) + " step " + std::to_string(step));
          }
          torch::manual_seed(
              mix_seed(mix_seed(config.seed, kStepStream + static_cast<uint64_t>(stage)),
                       static_cast<uint64_t>(global)));
          auto tb = train_loader->next();
          auto vb = val_loader->next();
          TORCH_CHECK(tb && vb, "run_cell_search: a loader ran out of batches");

          if (arch_active) {
            // First order: d L_val / d alpha with the weights fixed.
            const torch::Tensor logits = net->forward(vb->x, torch::softmax(alphas, -1));
            const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, vb->y);
            const double v = loss.item<double>();
            if (!std::isfinite(v))
              throw std::runtime_error("non-finite validation loss at " + stage_name(stage) +
                                       " epoch " + std::to_string(epoch + 1));
            torch::Tensor g = torch::autograd::grad({loss}, {alphas})[0];
            alphas.mutable_grad() = g;
            arch_opt.step();
            alphas.mutable_grad() = torch::Tensor();
            val_loss += v;
            val_correct += logits.detach().argmax(1).eq(vb->y).sum().item<int64_t>();
          }

          const double lr = scheduler.set_step(global);
          const torch::Tensor logits = net->forward(tb->x, torch::softmax(alphas, -1).detach());
          const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, tb->y);
          const double v = loss.item<double>();
          if (!std::isfinite(v))
            throw std::runtime_error("non-finite training loss at " + stage_name(stage) +
                                     " epoch " + std::to_string(epoch + 1));
          weight_opt->zero_grad();
          loss.backward();
          if (config.weight_optimizer.grad_clip > 0)
            torch::nn::utils::clip_grad_norm_(weight_params, config.weight_optimizer.grad_clip);
          weight_opt->step();
          train_loss += v;
          train_correct += logits.detach().argmax(1).eq(tb->y).sum().item<int64_t>();
          seen += tb->y.size(0);

          const double n = static_cast<double>(step + 1);
          prog.event = CellSearchProgress::Event::kStep;
          prog.step = step + 1;
          prog.lr = lr;
          prog.qat_active = qat;
          prog.train_loss = train_loss / n;
          prog.train_acc = 100.0 * static_cast<double>(train_correct) / static_cast<double>(seen);
          if (arch_active) {
            prog.val_loss = val_loss / n;
            prog.val_acc = 100.0 * static_cast<double>(val_correct) / static_cast<double>(seen);
          }
          report(prog);
          if (stop_requested()) {
            return interrupt("during " + stage_name(stage) + " epoch " + std::to_string(epoch + 1) +
                             " (resume repeats that epoch)");
          }
        }

        // End of epoch: record the weights, then checkpoint.
        const ArchWeights weights = arch_weights_from_alphas(config.nodes, pos.edge_ops, alphas);
        nlohmann::json record = to_json(weights);
        record["depth"] = sc.depth;
        record["train_loss"] = prog.train_loss;
        record["train_acc"] = prog.train_acc;
        record["val_loss"] = arch_active ? nlohmann::json(prog.val_loss) : nlohmann::json();
        record["val_acc"] = arch_active ? nlohmann::json(prog.val_acc) : nlohmann::json();
        record["qat"] = qat;
        record["skip_dropout"] = p_skip;
        store.add_arch_weights(id, stage, epoch, record);
        store.log_event(id, "info",
                        stage_name(stage) + " epoch " + std::to_string(epoch + 1) + "/" +
                            std::to_string(sc.epochs) + ": train loss " +
                            fixed(prog.train_loss, 4) + " acc " + fixed(prog.train_acc, 2) +
                            (arch_active ? "%, val acc " + fixed(prog.val_acc, 2) : "%") +
                            (qat ? " (qat)" : " (float)") + ", " +
                            fixed(seconds_since(epoch_start), 1) + " s");
        prog.event = CellSearchProgress::Event::kEpochEnd;
        prog.weights = &weights;
        report(prog);

        const bool stage_done = epoch + 1 == sc.epochs;
        if (stage_done) {
          pos.stages.push_back(CellStageResult{stage, sc.depth, weights});
          std::vector<std::vector<std::string>> next_ops;
          if (stage + 1 < stage_count) {
            next_ops = prune_edge_ops(weights, config.stages[static_cast<size_t>(stage + 1)].ops,
                                      /*drop_none_first=*/stage + 2 == stage_count);
          }
          store.set_stage(
              id, stage_name(stage), "done",
              {{"depth", sc.depth}, {"weights", to_json(weights)}, {"next_ops", next_ops}});
          prog.event = CellSearchProgress::Event::kStageEnd;
          prog.next_ops = stage + 1 < stage_count ? &next_ops : nullptr;
          report(prog);
          prog.next_ops = nullptr;
          pos.stage = stage + 1;
          pos.epoch = 0;
          if (!next_ops.empty()) pos.edge_ops = next_ops;
          save_checkpoint(ckpt_path, to_json(pos, config), nullptr, {}, nullptr, nullptr);
        } else {
          pos.stage = stage;
          pos.epoch = epoch + 1;
          save_checkpoint(ckpt_path, to_json(pos, config), net.get(), alphas, weight_opt.get(),
                          &arch_opt);
        }
        prog.weights = nullptr;
        if (stop_requested()) {
          return interrupt("after " + stage_name(stage) + " epoch " + std::to_string(epoch + 1));
        }
      }
    }

    std::vector<CellEdgeSlot> removed;
    result.stages = pos.stages;
    result.genotype =
        derive_genotype(pos.stages.back().weights, config.join, config.max_skip, &removed);
    result.genotype.name = config.name;
    nlohmann::json removed_json = nlohmann::json::array();
    for (const auto& e : removed) removed_json.push_back(to_string(e));
    store.set_stage(
        id, "derive", "done",
        {{"genotype", to_json(result.genotype)},
         {"uncapped", to_json(derive_genotype_uncapped(pos.stages.back().weights, config.join))},
         {"skip_removed", removed_json},
         {"canonical", canonical_string(result.genotype)}});
    store.log_event(id, "info", "derived genotype " + canonical_string(result.genotype));
    store.set_experiment_status(id, "done");
  } catch (const InputError&) {
    store.set_experiment_status(id, "failed");
    throw;
  } catch (const std::exception& e) {
    store.log_event(id, "error", std::string(e.what()).substr(0, 500));
    store.set_experiment_status(id, "failed");
    throw;
  }
  return result;
}

}  // namespace frostnas
