#include "trainer/train/train_state.h"

#include <algorithm>
#include <filesystem>

#include "common/atomic_write.h"
#include "common/checkpoint.h"
#include "common/error.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/quant/qat_checkpoint.h"

namespace frostnas {

namespace fs = std::filesystem;

namespace {

constexpr const char* kResumeFormat = "frostnas.train_state/1";

nlohmann::json to_json(const EpochInfo& e) {
  return {{"epoch", e.epoch},           {"steps", e.steps},
          {"train_loss", e.train_loss}, {"train_acc", e.train_acc},
          {"seconds", e.seconds},       {"images_per_second", e.images_per_second},
          {"qat_active", e.qat_active}, {"lr", e.lr}};
}

EpochInfo epoch_from_json(const nlohmann::json& j) {
  EpochInfo e;
  e.epoch = j.at("epoch").get<int64_t>();
  e.steps = j.at("steps").get<int64_t>();
  e.train_loss = j.at("train_loss").get<double>();
  e.train_acc = j.at("train_acc").get<double>();
  e.seconds = j.at("seconds").get<double>();
  e.images_per_second = j.at("images_per_second").get<double>();
  e.qat_active = j.at("qat_active").get<bool>();
  e.lr = j.at("lr").get<double>();
  return e;
}

/// The config fields a resumed run must share with the checkpointed one.
const std::vector<std::string>& resume_keys() {
  static const std::vector<std::string> keys = {"epochs",
                                                "batch_size",
                                                "optimizer",
                                                "schedule",
                                                "lr_warmup_epochs",
                                                "other_weight_decay_scale",
                                                "label_smoothing",
                                                "qat",
                                                "fp_warmup_epochs",
                                                "freeze_observers_epoch",
                                                "freeze_bn_epoch",
                                                "engine",
                                                "weight_quant",
                                                "transform",
                                                "seed"};
  return keys;
}

}  // namespace

EpochInfo epoch_info(int64_t epoch, const EpochSums& sums, bool qat_active, double lr) {
  return {epoch,
          sums.steps,
          sums.loss_sum / static_cast<double>(sums.steps),
          100.0 * static_cast<double>(sums.correct) / static_cast<double>(sums.samples),
          sums.seconds,
          static_cast<double>(sums.samples) / std::max(sums.seconds, 1e-9),
          qat_active,
          lr};
}

void save_resume_checkpoint(const std::string& dir, const NetSpec& spec, const TrainConfig& config,
                            QatNetImpl& net, torch::optim::Optimizer& optimizer, const LoopState& s,
                            bool gradboost_warmup) {
  fs::create_directories(dir);
  const std::string tag = std::to_string(s.global_step);
  const std::string model_name = "model-" + tag + ".pt";
  const std::string opt_name = "optimizer-" + tag + ".pt";
  save_qat_checkpoint(net, (fs::path(dir) / model_name).string());
  atomic_write_with((fs::path(dir) / opt_name).string(),
                    [&](const std::string& tmp) { torch::save(optimizer, tmp); });
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : s.epochs) epochs.push_back(to_json(e));
  nlohmann::json j = {{"format", kResumeFormat},
                      {"arch", frostnas::to_json(spec)},
                      {"arch_hash", arch_hash(spec)},
                      {"config", frostnas::to_json(config)},
                      {"model", model_name},
                      {"optimizer", opt_name},
                      {"epoch", s.epoch},
                      {"step_in_epoch", s.step_in_epoch},
                      {"global_step", s.global_step},
                      {"elapsed_s", s.elapsed_s},
                      {"images_seen", s.images_seen},
                      {"qat_switch_step", s.qat_switch_step},
                      {"gradboost_warmup", gradboost_warmup},
                      {"rng",
                       "torch::manual_seed(mix_seed(seed, step)) before every step; "
                       "loader batches are functions of (seed, epoch, batch)"},
                      {"partial",
                       {{"loss_sum", s.partial.loss_sum},
                        {"correct", s.partial.correct},
                        {"samples", s.partial.samples},
                        {"steps", s.partial.steps},
                        {"seconds", s.partial.seconds}}},
                      {"epochs", epochs},
                      {"loss_curve", s.loss_curve}};
  atomic_write((fs::path(dir) / kResumeStateFile).string(), j.dump(2) + "\n");
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = (name.rfind("model-", 0) == 0 || name.rfind("optimizer-", 0) == 0) &&
                      name.size() > 3 && name.substr(name.size() - 3) == ".pt";
    if (ours && name != model_name && name != opt_name) {
      std::error_code ec;
      fs::remove(entry.path(), ec);
    }
  }
}

LoopState load_resume_checkpoint(const std::string& dir, const NetSpec& spec,
                                 const TrainConfig& config, QatNetImpl& net,
                                 torch::optim::Optimizer& optimizer) {
  const std::string path = (fs::path(dir) / kResumeStateFile).string();
  if (!fs::exists(path))
    throw InputError(path + ": cannot open (no resume checkpoint in " + dir + ")");
  const nlohmann::json j = read_state_file(path, kResumeFormat);
  LoopState s;
  try {
    if (j.at("arch_hash").get<std::string>() != arch_hash(spec))
      throw InputError(path + ": field 'arch_hash': the checkpoint is of another architecture");
    const nlohmann::json now = frostnas::to_json(config);
    const nlohmann::json& then = j.at("config");
    // A field stored only when set (weight_quant) is absent from both when at its default.
    const auto shown = [](const nlohmann::json& c, const std::string& key) {
      return c.contains(key) ? c.at(key).dump() : std::string("nothing");
    };
    for (const auto& key : resume_keys()) {
      if (then.contains(key) != now.contains(key) ||
          (then.contains(key) && then.at(key) != now.at(key))) {
        throw InputError(path + ": field 'config." + key + "': the checkpoint has " +
                         shown(then, key) + ", this run " + shown(now, key));
      }
    }
    s.epoch = j.at("epoch").get<int64_t>();
    s.step_in_epoch = j.at("step_in_epoch").get<int64_t>();
    s.global_step = j.at("global_step").get<int64_t>();
    s.elapsed_s = j.at("elapsed_s").get<double>();
    s.images_seen = j.at("images_seen").get<int64_t>();
    s.qat_switch_step = j.at("qat_switch_step").get<int64_t>();
    const auto& p = j.at("partial");
    s.partial.loss_sum = p.at("loss_sum").get<double>();
    s.partial.correct = p.at("correct").get<int64_t>();
    s.partial.samples = p.at("samples").get<int64_t>();
    s.partial.steps = p.at("steps").get<int64_t>();
    s.partial.seconds = p.at("seconds").get<double>();
    for (const auto& e : j.at("epochs")) s.epochs.push_back(epoch_from_json(e));
    if (j.contains("loss_curve"))
      s.loss_curve = j.at("loss_curve").get<std::vector<std::pair<int64_t, double>>>();
    load_qat_checkpoint_into((fs::path(dir) / j.at("model").get<std::string>()).string(), net);
    const std::string opt_path = (fs::path(dir) / j.at("optimizer").get<std::string>()).string();
    read_torch_file(opt_path, "optimizer state", [&] { torch::load(optimizer, opt_path); });
    set_gradboost_warmup(optimizer, j.at("gradboost_warmup").get<bool>());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": bad resume state (" + std::string(e.what()) + ")");
  }
  return s;
}

}  // namespace frostnas
