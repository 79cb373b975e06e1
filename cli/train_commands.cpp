// `frostnas train` (QAT training with StatAssist / plain / PTQ, resumable) and
// `frostnas eval` (INT8 accuracy and batch-1 latency of a saved artifact).
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "space/builtin_archs.h"
#include "space/error.h"
#include "space/json_reader.h"
#include "space/resolved_net.h"
#include "trainer/data/load_dataset.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/quant_engine.h"
#include "trainer/train/evaluate.h"
#include "trainer/train/train_artifacts.h"
#include "trainer/train/train_model.h"

namespace frostnas::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

void on_sigint(int) {
  g_stop.store(true);
  // A second Ctrl-C kills the process the usual way.
  std::signal(SIGINT, SIG_DFL);
}

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

/// Loads train (+ seeded validation hold-out and subset) and test.
DataSplits load_splits(const DataArgs& a, uint64_t seed, nlohmann::json& info) {
  check_dataset_name(a.name);
  ImageDataset full = load_dataset(a.name, "train", a.dir, a.images);
  const int64_t n = full.size();
  int64_t val = a.val_size >= 0 ? a.val_size : std::min<int64_t>(5000, n / 10);
  if (val >= n)
    throw InputError("--val-size: " + std::to_string(val) + " is out of range (allowed: 0.." +
                     std::to_string(n - 1) + " for " + a.name + ")");
  DataSplits s;
  if (val > 0) {
    TrainValSplit split = split_train_val(full, val, seed);
    s.train = std::move(split.train);
    s.val = std::move(split.val);
  } else {
    s.train = full;
  }
  if (a.train_subset > 0) s.train = take_subset(s.train, a.train_subset, seed);
  // Both parts keep the statistics of the whole training file.
  s.train.mean = s.val.mean = full.mean;
  s.train.std = s.val.std = full.std;
  if (a.test) s.test = load_dataset(a.name, "test", a.dir, a.images);
  info = {{"data", a.name},
          {"train_samples", s.train.size()},
          {"val_samples", s.val.size()},
          {"test_samples", s.test.size()},
          {"val_size", val},
          {"train_subset", a.train_subset}};
  return s;
}

std::string fmt(double v, const char* f = "%.2f") {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

int64_t default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" && torch::cuda::is_available()) return torch::kCUDA;
  throw InputError("--device: unknown value '" + name + "' (allowed: cpu" +
                   std::string(torch::cuda::is_available() ? ", cuda" : "") + ")");
}

int train(const Command& self, const std::vector<std::string>& args) {
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
    ("threads", po::value<int64_t>()->default_value(0), "intra-op threads (0: all cores); set OPENBLAS_NUM_THREADS too")
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
    ("quiet", po::bool_switch()->default_value(false), "plain progress lines every 10 s instead of a bar");
  // clang-format on
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;

  NetSpec spec;
  TrainConfig config;
  DataArgs data_args;
  std::string out;
  bool resuming = false;
  if (vm.count("resume")) {
    // Everything comes from run.json; only progress and threads may change.
    out = vm["resume"].as<std::string>();
    resuming = true;
    const std::string run_path = (fs::path(out) / kRunFile).string();
    std::ifstream in(run_path);
    if (!in)
      throw InputError("--resume: " + run_path +
                       ": cannot open (not a training output directory?)");
    if (!has_resume_checkpoint((fs::path(out) / kResumeDir).string()))
      throw InputError("--resume: " + out +
                       ": no resume checkpoint (the run finished or never checkpointed)");
    nlohmann::json run;
    try {
      in >> run;
      spec = net_spec_from_json(run.at("arch"), run_path + ": arch");
      config = train_config_from_json(run.at("config"), run_path + ": config");
      data_args = data_args_from_json(run.at("data"));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(run_path + ": bad run description (" + std::string(e.what()) + ")");
    }
    if (!vm["threads"].defaulted()) config.threads = vm["threads"].as<int64_t>();
    config.quiet = vm["quiet"].as<bool>();
  } else {
    spec =
        load_arch(require_positional(vm, "arch", "--arch ARCH (a built-in name or a JSON file)"));
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
    config.quiet = vm["quiet"].as<bool>();
    validate(config);
    if (fs::exists(fs::path(out) / kRunFile) || fs::exists(fs::path(out) / kMetricsFile))
      throw InputError("--out: " + out + " already holds a training run (use --resume " + out +
                       " or another --out)");
  }
  if (config.threads < 0 || config.threads > 1024)
    throw InputError("--threads: " + std::to_string(config.threads) +
                     " is out of range (allowed: 0 (all cores) or 1..1024)");
  const int64_t threads = config.threads > 0 ? config.threads : default_threads();

  nlohmann::json data_info;
  const DataSplits splits = load_splits(data_args, config.seed, data_info);
  if (!resuming) {
    spec = adapt_spec_to_data(spec, splits.train, data_args.input_size);
    TransformOptions t = input_transform_for(spec, splits.train, config.transform);
    config.transform = t;
  }
  config.checkpoint_dir = (fs::path(out) / kResumeDir).string();
  config.progress = true;
  TrainConfig run_config = config;
  run_config.threads = threads;

  if (!resuming) {
    fs::create_directories(out);
    write_json_atomically((fs::path(out) / kRunFile).string(), {{"format", "frostnas.run/1"},
                                                                {"arch", to_json(spec)},
                                                                {"config", to_json(config)},
                                                                {"data", to_json(data_args)}});
    save_net_spec(spec, (fs::path(out) / kArchFile).string());
  }
  const ResolvedNet resolved = resolve(spec);
  std::cerr << (resuming ? "resuming " : "training ") << spec.name << " (" << spec.in_channels
            << "x" << spec.input_size << "x" << spec.input_size << ", " << spec.num_classes
            << " classes, " << resolved.params() << " params, "
            << fmt(resolved.macs() / 1e6, "%.1f") << " M MACs) on " << data_args.name << ": "
            << splits.train.size() << " train / " << splits.val.size() << " val / "
            << splits.test.size() << " test, qat " << to_string(config.qat) << ", optimizer "
            << config.optimizer.name << ", " << threads << " threads\n";

  g_stop.store(false);
  auto previous = std::signal(SIGINT, on_sigint);
  TrainCallbacks callbacks;
  callbacks.stop_flag = &g_stop;
  TrainResult result;
  try {
    result =
        train_model(spec, run_config, splits, callbacks, resuming ? config.checkpoint_dir : "");
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);

  if (result.interrupted) {
    std::cerr << "frostnas: interrupted after " << result.steps << " steps (epoch "
              << (result.steps / std::max<int64_t>(result.steps_per_epoch, 1)) + 1
              << "); resume with: frostnas train --resume " << out << "\n";
    return 130;
  }
  InputInfo input{data_args.name, splits.train.mean, splits.train.std,
                  without_augmentation(config.transform), splits.train.class_names};
  nlohmann::json extra = data_info;
  extra["threads"] = threads;
  save_train_artifacts(result, spec, run_config, input, out, extra);
  if (result.diverged) {
    std::cerr << "frostnas: training diverged: " << result.diverged_reason << " (metrics in " << out
              << "/" << kMetricsFile << ")\n";
    return 1;
  }
  std::error_code ec;
  fs::remove_all(config.checkpoint_dir, ec);
  std::cout << "qat_acc " << fmt(result.qat_acc) << "  int8_acc " << fmt(result.int8_acc)
            << "  fp32_acc " << fmt(result.fp32_acc) << "  (" << result.eval_split
            << ")  val int8_acc " << fmt(result.val.int8_acc) << "  train "
            << fmt(result.train_seconds, "%.1f") << " s, " << fmt(result.images_per_second, "%.1f")
            << " img/s" << (result.budget_exhausted ? " (time budget reached)" : "") << "\nwrote "
            << out << "\n";
  return 0;
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
  const int64_t runs = vm["runs"].as<int64_t>();
  if (runs < 1 || runs > 1000000)
    throw InputError("--runs: " + std::to_string(runs) + " is out of range (allowed: 1..1000000)");
  const int64_t batch = vm["batch-size"].as<int64_t>();
  if (batch < 1 || batch > 65536)
    throw InputError("--batch-size: " + std::to_string(batch) +
                     " is out of range (allowed: 1..65536)");
  int64_t threads = vm["threads"].as<int64_t>();
  if (threads < 0 || threads > 1024)
    throw InputError("--threads: " + std::to_string(threads) +
                     " is out of range (allowed: 0 (all cores) or 1..1024)");
  if (threads == 0) threads = default_threads();
  configure_runtime(threads);

  std::string int8_dir = model;
  if (!fs::exists(fs::path(model) / kInt8ModelJson) &&
      fs::exists(fs::path(model) / kInt8Dir / kInt8ModelJson))
    int8_dir = (fs::path(model) / kInt8Dir).string();
  const Int8Net net = load_int8_model(int8_dir);

  ImageDataset data;
  if (split == "val") {
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
    a.dir = vm["data-dir"].as<std::string>();
    a.test = false;
    if (vm["skip-bad-images"].as<bool>()) a.images.skip_bad_images(true);
    nlohmann::json info;
    data = load_splits(a, seed, info).val;
  } else {
    data = load_dataset(data_name, split, vm["data-dir"].as<std::string>(),
                        DatasetOptions()
                            .image_size(net.spec().input_size)
                            .channels(net.spec().in_channels)
                            .skip_bad_images(vm["skip-bad-images"].as<bool>()));
  }
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
  const double acc = evaluate_accuracy(
      [&](const torch::Tensor& x) {
        QEngineGuard guard(net.engine());
        return net.forward(x);
      },
      data, transform, batch);
  const torch::Tensor x1 =
      images_to_input(data.images.slice(0, 0, 1), data.mean, data.std, transform);
  const LatencyStats lat = measure_int8_latency(net, x1, runs, std::min<int64_t>(20, runs));
  if (vm["json"].as<bool>()) {
    std::cout << nlohmann::json({{"int8_acc", acc},
                                 {"split", split},
                                 {"samples", data.size()},
                                 {"latency_ms_median", lat.median_ms},
                                 {"latency_ms_min", lat.min_ms},
                                 {"latency_ms_mean", lat.mean_ms},
                                 {"runs", lat.runs},
                                 {"threads", threads},
                                 {"engine", to_string(net.engine())}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << "int8_acc " << fmt(acc) << "% on " << split << " (" << data.size() << " images)\n"
              << "int8 batch-1 latency: median " << fmt(lat.median_ms, "%.3f") << " ms (min "
              << fmt(lat.min_ms, "%.3f") << ", mean " << fmt(lat.mean_ms, "%.3f") << ", "
              << lat.runs << " back-to-back runs, " << threads << " threads, "
              << to_string(net.engine())
              << "; `frostnas lut time` times it as the latency table does)\n";
  }
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
