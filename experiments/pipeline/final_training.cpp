#include "experiments/pipeline/final_training.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/atomic_write.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "experiments/pipeline/pipeline.h"
#include "export/model_export.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas {

namespace fs = std::filesystem;

namespace {

/// The normalisation, resize and class names of the retraining data, as the exports carry them.
InputInfo pipeline_input_info(const PipelineConfig& config, const DataSplits& data,
                              const TrainConfig& train) {
  return InputInfo{config.retrain.data.name, data.train.mean, data.train.std,
                   without_augmentation(train.transform), data.train.class_names};
}

/// Saves a final model into `dir` (see train_final_model); returns the BN-folded float network.
std::shared_ptr<FoldedNet> save_final_model(QatNet qat, const std::shared_ptr<Int8Net>& int8,
                                            const NetSpec& net, const InputInfo& input,
                                            const fs::path& dir) {
  fs::create_directories(dir);
  save_int8_model(*int8, (dir / kInt8Dir).string());
  save_qat_checkpoint(*qat, (dir / kPipelineQatFile).string());
  save_net_spec(net, (dir / kArchFile).string());
  save_json_file(to_json(input), (dir / kInputFile).string());
  auto fp32 = std::make_shared<FoldedNet>(fold_to_fp32(*qat));
  save_model_exports(ExportSource{int8, fp32, input}, dir.string());
  return fp32;
}

/// The search's data and the retraining's, loaded as rank 0 and every worker load them.
std::string pipeline_data_checksum(const PipelineConfig& config, DataSplits& search,
                                   DataSplits& retrain) {
  torch::manual_seed(config.seed);
  search = search_data(config.search);
  retrain = retrain_data(config);
  return hex64(fnv1a(data_checksum(search) + data_checksum(retrain)));
}

}  // namespace

SavedFinalModel train_final_model(const NetSpec& net, const DataSplits& data, TrainConfig train,
                                  const PipelineConfig& config, const TrainCallbacks& callbacks,
                                  const std::string& dir) {
  SavedFinalModel out;
  train.transform = input_transform_for(net, data.train, train.transform);
  TrainResult r;
  try {
    r = train_model(net, train, data, callbacks);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    out.evaluation.failed = true;
    out.evaluation.error = e.what();
    return out;
  }
  out.interrupted = r.interrupted;
  if (r.interrupted) return out;
  out.evaluation.train_seconds = r.train_seconds;
  if (r.diverged || !r.int8) {
    out.evaluation.failed = true;
    out.evaluation.error = r.diverged ? "diverged: " + r.diverged_reason : "no INT8 model";
    return out;
  }
  out.evaluation.int8_acc = r.int8_acc;
  out.evaluation.qat_acc = r.qat_acc;
  out.evaluation.fp32_acc = r.fp32_acc;
  out.int8 = r.int8;
  out.fp32 = save_final_model(r.net, r.int8, net, pipeline_input_info(config, data, train), dir);
  return out;
}

std::vector<FilePart> read_saved_files(const std::string& dir) {
  std::vector<FilePart> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    FilePart f;
    f.path = entry.path().lexically_relative(dir).generic_string();
    f.bytes.assign(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof())
      throw EnvironmentError(entry.path().string() + ": cannot read file");
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const FilePart& a, const FilePart& b) { return a.path < b.path; });
  return files;
}

void write_saved_files(const std::vector<FilePart>& files, const std::string& dir,
                       const std::string& source) {
  for (const FilePart& f : files) {
    const fs::path rel = fs::path(f.path).lexically_normal();
    if (rel.empty() || rel.is_absolute() || *rel.begin() == "..") {
      throw InputError(source + ": file path \"" + f.path + "\" is not inside the model's folder");
    }
    const fs::path target = fs::path(dir) / rel;
    fs::create_directories(target.parent_path());
    atomic_write(target.string(), f.bytes);
  }
}

WorkerGreeting pipeline_worker_greeting(const PipelineConfig& config) {
  DataSplits search, retrain;
  const std::string checksum = pipeline_data_checksum(config, search, retrain);
  return WorkerGreeting{config.to_json(), config_hash(config.to_json()), checksum,
                        to_json(config.search.train)};
}

ReadyMessage PipelineWorkerJobs::set_up(const HelloMessage& hello) {
  ReadyMessage ready;
  ready.version = program_version();
  try {
    config_ = config_path_
                  ? load_pipeline_config(*config_path_, quick_)
                  : pipeline_config_from_json(hello.config, "rank 0's configuration", ".", false);
    if (config_path_ && weights_) set_weight_quant(*config_, *weights_);
    ready.config_hash = config_hash(config_->to_json());
    ready.threads = config_->retrain.train.threads;
    ready.data_checksum = pipeline_data_checksum(*config_, search_data_, retrain_data_);
  } catch (const std::exception& e) {
    ready.error = first_line(e);
  }
  return ready;
}

ResultMessage PipelineWorkerJobs::perform(const TaskMessage& task) {
  if (task.job == kJobFinal) return train_final(task);
  return ResultMessage{task.candidate_id, evaluate_task(search_data_, task), {}};
}

ResultMessage PipelineWorkerJobs::train_final(const TaskMessage& task) const {
  ResultMessage result{task.candidate_id, {}, {}};
  // The model's folder keeps its name, as in the pipeline's model directory.
  const fs::path tmp = fs::temp_directory_path() / ("frostnas_final_" + std::to_string(::getpid()) +
                                                    "_" + std::to_string(task.candidate_id));
  try {
    const NetSpec net = net_spec_from_json(task.arch, "task");
    const fs::path dir = tmp / net.name;
    fs::remove_all(tmp);
    const SavedFinalModel saved =
        train_final_model(net, retrain_data_, train_config_from_json(task.train, "task train"),
                          *config_, TrainCallbacks{}, dir.string());
    result.evaluation = saved.evaluation;
    if (!saved.evaluation.failed) result.files = read_saved_files(dir.string());
  } catch (const std::exception& e) {
    result.evaluation = Evaluation{};
    result.evaluation.failed = true;
    result.evaluation.error = first_line(e);
    result.files.clear();
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return result;
}

}  // namespace frostnas
