// `frostnas train` (QAT training with StatAssist / plain / PTQ, resumable) and
// `frostnas eval` (INT8 accuracy and batch-1 latency of a saved artifact).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "space/builtin_archs.h"
#include "space/resolved_net.h"
#include "trainer/data/load_dataset.h"
#include "trainer/data/splits.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/quant_engine.h"
#include "trainer/train/evaluate.h"
#include "trainer/train/train_artifacts.h"
#include "trainer/train/train_model.h"

namespace frostnas::cli {
namespace {

namespace fs = std::filesystem;

/// What `frostnas train` needs besides TrainConfig to rebuild its data (run.json).
struct DataArgs {
  std::string name;
  std::string dir;
  int64_t val_size = -1;  ///< -1: min(5000, 10% of the training set)
  int64_t train_subset = 0;
  bool test = true;
  int64_t input_size = 0;
  DatasetOptions images;  ///< folder:/list: sets: decoded size, channels, bad images
};

nlohmann::json to_json(const DataArgs& d) {
  return {{"data", d.name},
          {"data_dir", d.dir},
          {"val_size", d.val_size},
          {"train_subset", d.train_subset},
          {"test", d.test},
          {"input_size", d.input_size},
          {"image_size", d.images.image_size()},
          {"channels", d.images.channels()},
          {"skip_bad_images", d.images.skip_bad_images()}};
}

DataArgs data_args_from_json(const nlohmann::json& j) {
  DataArgs d;
  d.name = j.at("data").get<std::string>();
  d.dir = j.at("data_dir").get<std::string>();
  d.val_size = j.at("val_size").get<int64_t>();
  d.train_subset = j.at("train_subset").get<int64_t>();
  d.test = j.at("test").get<bool>();
  d.input_size = j.at("input_size").get<int64_t>();
  d.images.image_size(j.value("image_size", int64_t{0}))
      .channels(j.value("channels", int64_t{0}))
      .skip_bad_images(j.value("skip_bad_images", false));
  return d;
}

void check_dataset_name(const std::string& name) { frostnas::check_dataset_name(name, "--data"); }

/// Loads train, the seeded validation hold-out and subset (make_splits) and test.
DataSplits load_splits(const DataArgs& a, uint64_t seed, nlohmann::json& info) {
  check_dataset_name(a.name);
  DataSpec spec;
  spec.name = a.name;
  spec.dir = a.dir;
  spec.train_subset = a.train_subset;
  spec.val_size = a.val_size;
  spec.images = a.images;
  DataSplits s = make_splits(spec, seed, a.test, "--train-subset / --val-size");
  info = {{"data", a.name},
          {"train_samples", s.train.size()},
          {"val_samples", s.val.size()},
          {"test_samples", s.test.size()},
          {"val_size", s.val.size()},
          {"train_subset", a.train_subset},
          {"train_digest", s.train_digest},
          {"val_digest", s.val_digest}};
  return s;
}

int64_t default_threads() { return available_cores(); }

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" && torch::cuda::is_available()) return torch::kCUDA;
  throw InputError("--device: unknown value '" + name + "' (allowed: cpu" +
                   std::string(torch::cuda::is_available() ? ", cuda" : "") + ")");
}

/// What `frostnas train` runs: the architecture, the configuration, the data and where.
struct TrainJob {
  NetSpec spec;
  TrainConfig config;
  DataArgs data_args;
  std::string out;
  bool resuming = false;
};

po::options_description train_options() {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("arch", po::value<std::string>(), "built-in name or frostnas.arch/1 JSON file")
    ("data", po::value<std::string>(), "fashion-mnist, cifar10, cifar100, synthetic, folder:PATH or list:FILE")
    ("skip-bad-images", po::bool_switch()->default_value(false), "folder:/list: leave unreadable images out (counted) instead of refusing")
    ("data-dir", po::value<std::string>()->default_value(""), "data directory (default: the data set's)")
    ("out", po::value<std::string>(), "output directory (metrics.json, artifacts, resume checkpoint)")
    ("resume", po::value<std::string>(), "continue the interrupted run in this output directory")
    ("epochs", po::value<int64_t>()->default_value(1), "training epochs")
    ("batch-size", po::value<int64_t>()->default_value(64), "mini-batch size")
    ("lr", po::value<double>()->default_value(5e-3), "base learning rate")
    ("optimizer", po::value<std::string>(), "qsgd, qadam, qadamw, qrmsprop, sgd, adam, adamw, rmsprop "
                                            "(default: qsgd for statassist, sgd otherwise)")
    ("weight-decay", po::value<double>()->default_value(1e-5), "weight decay (depthwise: none)")
    ("momentum", po::value<double>()->default_value(0.9), "momentum (sgd, rmsprop)")
    ("schedule", po::value<std::string>()->default_value("cosine"), "constant, cosine or step")
    ("lr-warmup-epochs", po::value<double>()->default_value(0.0), "linear LR warm-up epochs")
    ("label-smoothing", po::value<double>()->default_value(0.0), "cross-entropy label smoothing")
    ("qat", po::value<std::string>()->default_value("statassist"), "statassist, plain or none")
    ("fp-warmup-epochs", po::value<double>()->default_value(1.0), "StatAssist full-precision epochs")
    ("freeze-observers-epoch", po::value<int64_t>()->default_value(-1), "freeze observers from this epoch (0-based; -1 never)")
    ("freeze-bn-epoch", po::value<int64_t>()->default_value(-1), "freeze BN statistics from this epoch (0-based; -1 never)")
    ("calibration-batches", po::value<int64_t>()->default_value(16), "--qat none: calibration batches")
    ("calibration-fake-quant", po::bool_switch()->default_value(false), "--qat none: fake quantization on while calibrating")
    ("engine", po::value<std::string>()->default_value("onednn"), "onednn or qnnpack")
    ("weight-quant", po::value<std::string>()->default_value("per_channel"), "INT8 weights: per_channel or per_tensor (one scale per weight tensor: the paper's QNNPACK configuration)")
    ("threads", po::value<int64_t>()->default_value(0), "threads for the whole run: LibTorch intra- and inter-op, OpenMP, oneDNN, OpenBLAS (0: every core this process may use)")
    ("seed", po::value<int64_t>()->default_value(0), "seeds init, split, shuffling, augmentation, noise")
    ("device", po::value<std::string>()->default_value("cpu"), "cpu")
    ("val-size", po::value<int64_t>()->default_value(-1), "validation hold-out (-1: min(5000, 10% of train); 0: none)")
    ("train-subset", po::value<int64_t>()->default_value(0), "train on a seeded subset of N images (0: all)")
    ("no-test", po::bool_switch()->default_value(false), "do not evaluate the test set")
    ("input-size", po::value<int64_t>()->default_value(0), "resize images to this side (0: the data's)")
    ("pad", po::value<int64_t>()->default_value(0), "augmentation: random crop after padding this much")
    ("flip", po::bool_switch()->default_value(false), "augmentation: random horizontal flip")
    ("crop-scale", po::value<double>()->default_value(0.0), "augmentation: random-resized crop of area fraction [S, 1] (0: off)")
    ("time-budget", po::value<double>()->default_value(0.0), "stop training after this many seconds (0: none)")
    ("eval-batch-size", po::value<int64_t>()->default_value(256), "evaluation batch size")
    ("no-channels-last", po::bool_switch()->default_value(false), "train in the default NCHW memory format instead of channels-last")
    ("quiet", po::bool_switch()->default_value(false), "plain progress lines every 10 s instead of a bar");
  // clang-format on
  return options;
}

/// A new run from the command line's options.
TrainJob new_train_job(const po::variables_map& vm) {
  TrainJob job;
  NetSpec& spec = job.spec;
  TrainConfig& config = job.config;
  DataArgs& data_args = job.data_args;
  std::string& out = job.out;
  spec = load_arch(require_positional(vm, "arch", "--arch ARCH (a built-in name or a JSON file)"));
  data_args.name = require_positional(vm, "data", "--data NAME (" + dataset_name_help() + ")");
  check_dataset_name(data_args.name);
  out = require_positional(vm, "out", "--out DIR");
  data_args.dir = vm["data-dir"].as<std::string>();
  data_args.val_size = vm["val-size"].as<int64_t>();
  data_args.train_subset = vm["train-subset"].as<int64_t>();
  data_args.test = !vm["no-test"].as<bool>();
  data_args.input_size = vm["input-size"].as<int64_t>();
  // Image files are decoded straight to the network's input size and channels.
  data_args.images.image_size(data_args.input_size > 0 ? data_args.input_size : spec.input_size)
      .channels(spec.in_channels)
      .skip_bad_images(vm["skip-bad-images"].as<bool>());
  if (data_args.val_size < -1)
    throw InputError("--val-size: " + std::to_string(data_args.val_size) +
                     " is out of range (allowed: -1, 0 or a count)");
  if (data_args.train_subset < 0)
    throw InputError("--train-subset: " + std::to_string(data_args.train_subset) +
                     " is out of range (allowed: 0 (all) or a count)");
  if (data_args.input_size != 0 && (data_args.input_size < 8 || data_args.input_size > 1024))
    throw InputError("--input-size: " + std::to_string(data_args.input_size) +
                     " is out of range (allowed: 0 or 8..1024)");

  config.epochs = vm["epochs"].as<int64_t>();
  config.batch_size = vm["batch-size"].as<int64_t>();
  config.qat = parse_qat_scheme(vm["qat"].as<std::string>(), "--qat");
  config.optimizer.name =
      vm.count("optimizer") ? vm["optimizer"].as<std::string>() : default_optimizer(config.qat);
  config.optimizer.lr = vm["lr"].as<double>();
  config.optimizer.weight_decay = vm["weight-decay"].as<double>();
  config.optimizer.momentum = vm["momentum"].as<double>();
  config.schedule = vm["schedule"].as<std::string>();
  config.lr_warmup_epochs = vm["lr-warmup-epochs"].as<double>();
  config.label_smoothing = vm["label-smoothing"].as<double>();
  config.fp_warmup_epochs = vm["fp-warmup-epochs"].as<double>();
  if (config.qat != QatScheme::kStatAssist && vm["fp-warmup-epochs"].defaulted())
    config.fp_warmup_epochs = 0;
  config.freeze_observers_epoch = vm["freeze-observers-epoch"].as<int64_t>();
  config.freeze_bn_epoch = vm["freeze-bn-epoch"].as<int64_t>();
  config.calibration_batches = vm["calibration-batches"].as<int64_t>();
  config.calibration_fake_quant = vm["calibration-fake-quant"].as<bool>();
  config.engine = parse_quant_engine(vm["engine"].as<std::string>(), "--engine");
  config.weight_quant = parse_weight_quant(vm["weight-quant"].as<std::string>(), "--weight-quant");
  config.threads = vm["threads"].as<int64_t>();
  const int64_t seed = vm["seed"].as<int64_t>();
  if (seed < 0)
    throw InputError("--seed: " + std::to_string(seed) + " is out of range (allowed: >= 0)");
  config.seed = static_cast<uint64_t>(seed);
  config.device = parse_device(vm["device"].as<std::string>());
  config.transform.pad(vm["pad"].as<int64_t>()).flip(vm["flip"].as<bool>());
  config.transform.crop_scale(vm["crop-scale"].as<double>());
  config.time_budget_s = vm["time-budget"].as<double>();
  config.eval_batch_size = vm["eval-batch-size"].as<int64_t>();
  config.channels_last = !vm["no-channels-last"].as<bool>();
  validate(config);
  if (fs::exists(fs::path(out) / kRunFile) || fs::exists(fs::path(out) / kMetricsFile))
    throw InputError("--out: " + out + " already holds a training run (use --resume " + out +
                     " or another --out)");
  return job;
}

/// The interrupted run in `--resume DIR`: everything comes from its run.json; only the
/// progress output and the threads may change.
TrainJob resumed_train_job(const po::variables_map& vm) {
  TrainJob job;
  job.resuming = true;
  NetSpec& spec = job.spec;
  TrainConfig& config = job.config;
  DataArgs& data_args = job.data_args;
  std::string& out = job.out;
  out = vm["resume"].as<std::string>();
  const std::string run_path = (fs::path(out) / kRunFile).string();
  std::ifstream in(run_path);
  if (!in)
    throw InputError("--resume: " + run_path + ": cannot open (not a training output directory?)");
  if (!has_resume_checkpoint((fs::path(out) / kResumeDir).string()))
    throw InputError("--resume: " + out +
                     ": no resume checkpoint (the run finished or never checkpointed)");
  nlohmann::json run;
  try {
    in >> run;
    spec = net_spec_from_json(run.at("arch"), run_path + ": arch");
    config = train_config_from_json(JsonReader(run, run_path).at("config"));
    data_args = data_args_from_json(run.at("data"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(run_path + ": bad run description (" + std::string(e.what()) + ")");
  }
  if (!vm["threads"].defaulted()) config.threads = vm["threads"].as<int64_t>();
  return job;
}

/// The run's header line on stderr.
void print_train_header(const TrainJob& job, const DataSplits& splits, int64_t threads) {
  const NetSpec& spec = job.spec;
  const ResolvedNet resolved = resolve(spec);
  std::cerr << (job.resuming ? "resuming " : "training ") << spec.name << " (" << spec.in_channels
            << "x" << spec.input_size << "x" << spec.input_size << ", " << spec.num_classes
            << " classes, " << resolved.params() << " params, "
            << fmt("%.1f", resolved.macs() / 1e6) << " M MACs) on " << job.data_args.name << ": "
            << splits.train.size() << " train / " << splits.val.size() << " val / "
            << splits.test.size() << " test, qat " << to_string(job.config.qat) << ", optimizer "
            << job.config.optimizer.name << ", " << threads << " threads\n";
}

/// train_model with Ctrl-C turned into a checkpointed interruption.
TrainResult train_interruptibly(const TrainJob& job, const TrainConfig& run_config,
                                const DataSplits& splits, bool quiet) {
  InterruptGuard interrupt;
  TrainCallbacks callbacks = train_progress(run_config.epochs, run_config.batch_size, quiet);
  callbacks.stop_flag = interrupt.flag();
  return train_model(job.spec, run_config, splits, callbacks,
                     job.resuming ? run_config.checkpoint_dir : "");
}

/// Saves the artifacts and prints the outcome; returns the exit status.
int finish_train(const TrainJob& job, const TrainConfig& run_config, const TrainResult& result,
                 const DataSplits& splits, nlohmann::json extra) {
  const std::string& out = job.out;
  if (result.interrupted) {
    std::cerr << "frostnas: interrupted after " << result.steps << " steps (epoch "
              << (result.steps / std::max<int64_t>(result.steps_per_epoch, 1)) + 1
              << "); resume with: frostnas train --resume " << out << "\n";
    return 130;
  }
  InputInfo input{job.data_args.name, splits.train.mean, splits.train.std,
                  without_augmentation(job.config.transform), splits.train.class_names};
  save_train_artifacts(result, job.spec, run_config, input, out, extra);
  if (result.diverged) {
    std::cerr << "frostnas: training diverged: " << result.diverged_reason << " (metrics in " << out
              << "/" << kMetricsFile << ")\n";
    return 1;
  }
  std::error_code ec;
  fs::remove_all(run_config.checkpoint_dir, ec);
  std::cout << "qat_acc " << fmt("%.2f", result.qat_acc) << "  int8_acc "
            << fmt("%.2f", result.int8_acc) << "  fp32_acc " << fmt("%.2f", result.fp32_acc)
            << "  (" << result.eval_split << ")  val int8_acc " << fmt("%.2f", result.val.int8_acc)
            << "  train " << fmt("%.1f", result.train_seconds) << " s, "
            << fmt("%.1f", result.images_per_second) << " img/s"
            << (result.budget_exhausted ? " (time budget reached)" : "") << "\nwrote " << out
            << "\n";
  return 0;
}

int train(const Command& self, const std::vector<std::string>& args) {
  po::options_description options = train_options();
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  TrainJob job = vm.count("resume") ? resumed_train_job(vm) : new_train_job(vm);
  if (job.config.threads < 0 || job.config.threads > 1024)
    throw InputError("--threads: " + std::to_string(job.config.threads) +
                     " is out of range (allowed: 0 (all cores) or 1..1024)");
  const int64_t threads = job.config.threads > 0 ? job.config.threads : default_threads();
  configure_runtime(threads);

  nlohmann::json data_info;
  const DataSplits splits = load_splits(job.data_args, job.config.seed, data_info);
  if (!job.resuming) {
    job.spec = adapt_spec_to_data(job.spec, splits.train, job.data_args.input_size);
    job.config.transform = input_transform_for(job.spec, splits.train, job.config.transform);
  }
  job.config.checkpoint_dir = (fs::path(job.out) / kResumeDir).string();
  TrainConfig run_config = job.config;
  run_config.threads = threads;
  if (!job.resuming) {
    fs::create_directories(job.out);
    save_json_file({{"format", "frostnas.run/1"},
                    {"arch", to_json(job.spec)},
                    {"config", to_json(job.config)},
                    {"data", to_json(job.data_args)}},
                   (fs::path(job.out) / kRunFile).string());
    save_net_spec(job.spec, (fs::path(job.out) / kArchFile).string());
  }
  print_train_header(job, splits, threads);
  const TrainResult result = train_interruptibly(job, run_config, splits, vm["quiet"].as<bool>());
  data_info["threads"] = threads;
  return finish_train(job, run_config, result, splits, data_info);
}

/// The images `frostnas eval` scores: a named split of the data set, or, for "val", the
/// validation split the run held out (rebuilt from its run.json).
ImageDataset load_eval_data(const std::string& model, const std::string& data_name,
                            const std::string& split, const std::string& data_dir,
                            const DatasetOptions& images) {
  if (split != "val") return load_dataset(data_name, split, data_dir, images);
  const std::string run_path = (fs::path(model) / kRunFile).string();
  std::ifstream in(run_path);
  if (!in)
    throw InputError("--split val: " + run_path +
                     ": cannot open (the validation split needs the run's seed)");
  nlohmann::json run;
  DataArgs a;
  uint64_t seed = 0;
  try {
    in >> run;
    a = data_args_from_json(run.at("data"));
    seed = run.at("config").at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(run_path + ": bad run description (" + std::string(e.what()) + ")");
  }
  if (a.name != data_name)
    throw InputError("--data: '" + data_name + "' but the run trained on '" + a.name + "'");
  a.dir = data_dir;
  a.test = false;
  if (images.skip_bad_images()) a.images.skip_bad_images(true);
  nlohmann::json info;
  return load_splits(a, seed, info).val;
}

/// The input transform and normalisation the model was trained with (input.json), applied
/// to `data`; the architecture's defaults when the directory has none.
TransformOptions eval_transform(const std::string& model, const Int8Net& net, ImageDataset& data) {
  TransformOptions transform;
  if (fs::exists(fs::path(model) / kInputFile)) {
    const InputInfo input = load_input_info(model);
    if (input.mean.size() != static_cast<size_t>(data.channels()))
      throw InputError((fs::path(model) / kInputFile).string() +
                       ": field 'mean': " + std::to_string(input.mean.size()) +
                       " channels, the data has " + std::to_string(data.channels()));
    check_class_names(input, data, (fs::path(model) / kInputFile).string());
    data.mean = input.mean;
    data.std = input.std;
    transform = input.transform;
  } else {
    transform = input_transform_for(net.spec(), data);
  }
  check_transform(transform, data.channels());
  return transform;
}

int64_t checked_flag(const po::variables_map& vm, const std::string& flag, int64_t lo, int64_t hi,
                     const std::string& allowed) {
  const int64_t v = vm[flag].as<int64_t>();
  if (v < lo || v > hi)
    throw InputError("--" + flag + ": " + std::to_string(v) +
                     " is out of range (allowed: " + allowed + ")");
  return v;
}

void print_eval(const Int8Net& net, const std::string& split, int64_t samples, double acc,
                const LatencyStats& lat, int64_t threads, bool json) {
  if (json) {
    std::cout << nlohmann::json({{"int8_acc", acc},
                                 {"split", split},
                                 {"samples", samples},
                                 {"latency_ms_median", lat.median_ms},
                                 {"latency_ms_min", lat.min_ms},
                                 {"latency_ms_mean", lat.mean_ms},
                                 {"runs", lat.runs},
                                 {"threads", threads},
                                 {"engine", to_string(net.engine())},
                                 {"weight_quant", to_string(net.weight_quant())}})
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "int8_acc " << fmt("%.2f", acc) << "% on " << split << " (" << samples
            << " images)\n"
            << "int8 batch-1 latency: median " << fmt("%.3f", lat.median_ms) << " ms (min "
            << fmt("%.3f", lat.min_ms) << ", mean " << fmt("%.3f", lat.mean_ms) << ", " << lat.runs
            << " back-to-back runs, " << threads << " threads, " << to_string(net.engine()) << " "
            << to_string(net.weight_quant())
            << "; `frostnas lut time` times it as the latency table does)\n";
}

int eval(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("model", po::value<std::string>(), "training output directory (or an int8/ artifact directory)")
    ("data", po::value<std::string>(), "fashion-mnist, cifar10, cifar100, synthetic, folder:PATH or list:FILE")
    ("skip-bad-images", po::bool_switch()->default_value(false), "folder:/list: leave unreadable images out (counted) instead of refusing")
    ("data-dir", po::value<std::string>()->default_value(""), "data directory (default: the data set's)")
    ("split", po::value<std::string>()->default_value("test"), "test, val or train")
    ("runs", po::value<int64_t>()->default_value(200), "timed batch-1 runs (median reported)")
    ("threads", po::value<int64_t>()->default_value(0), "intra-op threads (0: all cores)")
    ("batch-size", po::value<int64_t>()->default_value(256), "evaluation batch size")
    ("json", po::bool_switch()->default_value(false), "print one JSON object");
  // clang-format on
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  const std::string model = require_positional(vm, "model", "--model DIR");
  const std::string data_name =
      require_positional(vm, "data", "--data NAME (" + dataset_name_help() + ")");
  check_dataset_name(data_name);
  const std::string split = vm["split"].as<std::string>();
  if (split != "test" && split != "val" && split != "train")
    throw InputError("--split: unknown value '" + split + "' (allowed: test, val, train)");
  const int64_t runs = checked_flag(vm, "runs", 1, 1000000, "1..1000000");
  const int64_t batch = checked_flag(vm, "batch-size", 1, 65536, "1..65536");
  int64_t threads = checked_flag(vm, "threads", 0, 1024, "0 (all cores) or 1..1024");
  if (threads == 0) threads = default_threads();
  configure_runtime(threads);

  std::string int8_dir = model;
  if (!fs::exists(fs::path(model) / kInt8ModelJson) &&
      fs::exists(fs::path(model) / kInt8Dir / kInt8ModelJson))
    int8_dir = (fs::path(model) / kInt8Dir).string();
  const Int8Net net = load_int8_model(int8_dir);
  ImageDataset data = load_eval_data(model, data_name, split, vm["data-dir"].as<std::string>(),
                                     DatasetOptions()
                                         .image_size(net.spec().input_size)
                                         .channels(net.spec().in_channels)
                                         .skip_bad_images(vm["skip-bad-images"].as<bool>()));
  const TransformOptions transform = eval_transform(model, net, data);
  const double acc = evaluate_accuracy(
      [&](const torch::Tensor& x) {
        QEngineGuard guard(net.engine());
        return net.forward(x);
      },
      data, transform, batch);
  const torch::Tensor x1 =
      images_to_input(sample_images(data, {0}), data.mean, data.std, transform);
  const LatencyStats lat = measure_int8_latency(net, x1, runs, std::min<int64_t>(20, runs));
  print_eval(net, split, data.size(), acc, lat, threads, vm["json"].as<bool>());
  return 0;
}

const RegisterCommand kTrain(
    {"train",
     "frostnas train --arch ARCH --data NAME --out DIR [options] | frostnas train --resume DIR",
     "Train an architecture with QAT (StatAssist, plain) or PTQ; write metrics and INT8 artifacts",
     train});
const RegisterCommand kEval({"eval", "frostnas eval --model DIR --data NAME [options]",
                             "INT8 accuracy and batch-1 latency of a trained artifact", eval});

}  // namespace
}  // namespace frostnas::cli
