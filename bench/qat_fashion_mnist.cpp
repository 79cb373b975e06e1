// QAT on Fashion-MNIST from scratch: INT8 test accuracy, fake-quant accuracy, training
// time and throughput, peak memory (max RSS) and the machine's load average.
//
//   ninja -C build qat_fashion_mnist
//   OPENBLAS_NUM_THREADS=2 build/bench/qat_fashion_mnist
//       --arch experiments/archs/proxy_default.json --epochs 9 --batch-size 128 --lr 0.05
//       --pad 0 --flip --time-budget 900 --threads 2 --seed 0 [--qat statassist --optimizer qsgd]
//
// 2026-11-26, idle, that command (docs/results.md, "QAT on Fashion-MNIST from scratch"):
// INT8 test 91.48 %, fake-quant 91.53 %, FP32 91.64 % after 715 s of training (3861 steps,
// 691 img/s), 12 min 5 s in all, max RSS 624 MiB. The defaults (8 epochs, lr 0.1, pad-crop
// 2, what bench/qat_ablation.sh runs) reached only 88.14 % in 642 s; 5 epochs at lr 0.05
// without augmentation reached 89.83 % in 393 s.
//
// The last line is one JSON object with every figure (bench/qat_ablation.sh parses it).
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "space/builtin_archs.h"
#include "space/resolved_net.h"
#include "trainer/data/splits.h"
#include "trainer/train/train_artifacts.h"
#include "trainer/train/train_model.h"

namespace po = boost::program_options;
using frostnas::bench::load_average;
using namespace frostnas;

namespace {

double max_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("qat_fashion_mnist");
  // clang-format off
  options.add_options()
    ("help,h", "show this help")
    ("arch", po::value<std::string>()->default_value("experiments/archs/proxy_default.json"), "architecture")
    ("data", po::value<std::string>()->default_value("fashion-mnist"), "data set")
    ("epochs", po::value<int64_t>()->default_value(8), "epochs")
    ("batch-size", po::value<int64_t>()->default_value(128), "batch size")
    ("lr", po::value<double>()->default_value(0.1), "base lr")
    ("weight-decay", po::value<double>()->default_value(5e-5), "weight decay")
    ("optimizer", po::value<std::string>()->default_value(""), "optimizer (default by --qat)")
    ("qat", po::value<std::string>()->default_value("statassist"), "statassist, plain or none")
    ("fp-warmup-epochs", po::value<double>()->default_value(1.0), "StatAssist FP epochs")
    ("freeze-bn-epoch", po::value<int64_t>()->default_value(-1), "freeze BN from this epoch")
    ("freeze-observers-epoch", po::value<int64_t>()->default_value(-1), "freeze observers from this epoch")
    ("pad", po::value<int64_t>()->default_value(2), "pad-crop augmentation")
    ("flip", po::bool_switch()->default_value(false), "random horizontal flip")
    ("label-smoothing", po::value<double>()->default_value(0.0), "label smoothing")
    ("time-budget", po::value<double>()->default_value(900.0), "training budget in seconds (0: none)")
    ("train-subset", po::value<int64_t>()->default_value(0), "train on N images (0: all)")
    ("val-size", po::value<int64_t>()->default_value(5000), "validation hold-out")
    ("threads", po::value<int64_t>()->default_value(2), "threads")
    ("seed", po::value<int64_t>()->default_value(0), "seed")
    ("out", po::value<std::string>()->default_value(""), "save the artifacts here");
  // clang-format on
  po::variables_map vm;
  if (!frostnas::bench::parse_args(argc, argv, options, vm)) return 0;
  const std::string load_before = load_average();
  const uint64_t seed = static_cast<uint64_t>(vm["seed"].as<int64_t>());

  const std::string data_name = vm["data"].as<std::string>();
  DataSpec data_spec;
  data_spec.name = data_name;
  data_spec.train_subset = vm["train-subset"].as<int64_t>();
  data_spec.val_size = vm["val-size"].as<int64_t>();
  const DataSplits data = make_splits(data_spec, seed, /*with_test=*/true);

  const NetSpec spec = adapt_spec_to_data(load_arch(vm["arch"].as<std::string>()), data.train);
  TrainConfig c;
  c.epochs = vm["epochs"].as<int64_t>();
  c.batch_size = vm["batch-size"].as<int64_t>();
  c.qat = parse_qat_scheme(vm["qat"].as<std::string>(), "--qat");
  c.optimizer.name = vm["optimizer"].as<std::string>().empty() ? default_optimizer(c.qat)
                                                               : vm["optimizer"].as<std::string>();
  c.optimizer.lr = vm["lr"].as<double>();
  c.optimizer.weight_decay = vm["weight-decay"].as<double>();
  c.fp_warmup_epochs = c.qat == QatScheme::kStatAssist ? vm["fp-warmup-epochs"].as<double>() : 0;
  c.freeze_bn_epoch = vm["freeze-bn-epoch"].as<int64_t>();
  c.freeze_observers_epoch = vm["freeze-observers-epoch"].as<int64_t>();
  c.label_smoothing = vm["label-smoothing"].as<double>();
  c.transform = input_transform_for(
      spec, data.train,
      TransformOptions().pad(vm["pad"].as<int64_t>()).flip(vm["flip"].as<bool>()));
  c.time_budget_s = vm["time-budget"].as<double>();
  c.threads = vm["threads"].as<int64_t>();
  c.seed = seed;
  const ResolvedNet r = resolve(spec);
  std::printf(
      "arch %s: %lld params, %.2f M MACs; %lld train / %lld val / %lld test; qat %s, %s, "
      "lr %g, batch %lld, %lld epochs, budget %.0f s, %lld threads, seed %llu\n",
      spec.name.c_str(), static_cast<long long>(r.params()), r.macs() / 1e6,
      static_cast<long long>(data.train.size()), static_cast<long long>(data.val.size()),
      static_cast<long long>(data.test.size()), to_string(c.qat).c_str(), c.optimizer.name.c_str(),
      c.optimizer.lr, static_cast<long long>(c.batch_size), static_cast<long long>(c.epochs),
      c.time_budget_s, static_cast<long long>(c.threads), static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  const TrainResult res = train_model(spec, c, data);
  const std::string load_after = load_average();
  const double rss = max_rss_mib();
  for (const auto& e : res.epochs) {
    std::printf("epoch %lld: loss %.4f train acc %.2f%% %.1f s %.1f img/s %s\n",
                static_cast<long long>(e.epoch + 1), e.train_loss, e.train_acc, e.seconds,
                e.images_per_second, e.qat_active ? "qat" : "fp");
  }
  std::printf("test:  int8 %.2f%%  fake-quant %.2f%%  fp32 %.2f%%  (int8 - qat %+.2f)\n",
              res.test.int8_acc, res.test.qat_acc, res.test.fp32_acc,
              res.test.int8_acc - res.test.qat_acc);
  std::printf("val:   int8 %.2f%%  fake-quant %.2f%%  fp32 %.2f%%\n", res.val.int8_acc,
              res.val.qat_acc, res.val.fp32_acc);
  std::printf("train %.1f s (%lld steps, %.1f img/s)%s%s\n", res.train_seconds,
              static_cast<long long>(res.steps), res.images_per_second,
              res.budget_exhausted ? ", time budget reached" : "",
              res.diverged ? (", DIVERGED: " + res.diverged_reason).c_str() : "");
  std::printf("max RSS %.1f MiB; load average before %s, after %s\n", rss, load_before.c_str(),
              load_after.c_str());
  if (!vm["out"].as<std::string>().empty()) {
    InputInfo input{data_name, data.train.mean, data.train.std, c.transform, {}};
    input.transform.pad(0).flip(false);
    save_train_artifacts(res, spec, c, input, vm["out"].as<std::string>());
  }
  nlohmann::json j = {{"qat", to_string(c.qat)},
                      {"optimizer", c.optimizer.name},
                      {"seed", seed},
                      {"test_int8_acc", res.test.int8_acc},
                      {"test_qat_acc", res.test.qat_acc},
                      {"test_fp32_acc", res.test.fp32_acc},
                      {"val_int8_acc", res.val.int8_acc},
                      {"train_seconds", res.train_seconds},
                      {"images_per_second", res.images_per_second},
                      {"steps", res.steps},
                      {"diverged", res.diverged},
                      {"max_rss_mib", rss},
                      {"load_before", load_before},
                      {"load_after", load_after}};
  std::printf("%s\n", j.dump().c_str());
  return res.diverged ? 1 : 0;
}
