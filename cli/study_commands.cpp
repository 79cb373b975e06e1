// `frostnas study`: a declared grid of training or cell-search variants times seeds, recorded in
// the store, resumable, with per-variant mean ± sd and paired comparisons (95 % interval, paired t
// and exact sign-flip p-values, Holm-adjusted over the study's comparisons).
#include <algorithm>
#include <cmath>
#include <iostream>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "common/error.h"
#include "common/threads.h"
#include "search/study/study_runner.h"

namespace frostnas::cli {
namespace {

std::string padded(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

/// One line per finished run on stderr: `[3/12] plain seed 1: int8_acc 81.20 (14.2 s)`.
std::function<void(const StudyProgress&)> study_progress_lines(const std::string& metric) {
  return [metric](const StudyProgress& p) {
    if (!p.record) return;
    std::cerr << "[" << p.index + 1 << "/" << p.total << "] " << p.variant << " seed " << p.seed
              << ": ";
    const std::optional<double> v = metric_value(p.record->metrics, metric);
    if (p.record->status == StudyRunStatus::kFailed) {
      std::cerr << "failed (" << p.record->error << ")";
    } else {
      std::cerr << metric << " " << (v ? fmt("%.4g", *v) : "-");
    }
    std::cerr << (p.skipped ? " (recorded earlier)" : " (" + fmt("%.1f", p.record->wall_s) + " s)")
              << "\n";
  };
}

void print_variants(const StudyAnalysis& a) {
  for (const MetricSummary& m : a.per_metric) {
    const int d = metric_decimals(m.metric);
    std::cout << "\n"
              << padded(m.metric, 20) << padded("n", 4) << padded("mean ± sd", 20)
              << "failed  pending\n";
    for (const VariantSummary& v : m.variants) {
      const std::string mean_sd =
          v.summary.n ? fmt(("%." + std::to_string(d) + "f").c_str(), v.summary.mean) + " ± " +
                            fmt(("%." + std::to_string(d) + "f").c_str(), v.summary.sd)
                      : std::string("-");
      std::cout << padded("  " + v.name, 20) << padded(std::to_string(v.summary.n), 4)
                << padded(mean_sd, 20) << padded(std::to_string(v.failed), 8) << v.pending << "\n";
    }
  }
}

void print_agreement(const StudyAnalysis& a) {
  if (a.agreement.empty()) return;
  std::cout << "\nop ranking across seeds (Kendall's W; 1: every seed ranks the ops alike)\n";
  for (const RankAgreement& r : a.agreement) {
    std::cout << "  " << padded(r.variant, 18) << padded(r.family, 14)
              << padded(
                     std::to_string(r.ops.size()) + " ops x " + std::to_string(r.seeds) + " seeds",
                     20)
              << "W " << (std::isfinite(r.w) ? fmt("%.3f", r.w) : std::string("-")) << "\n";
  }
}

void print_comparisons(const StudyAnalysis& a) {
  if (a.comparisons.empty()) return;
  size_t width = 28, metric_width = 8;
  for (const ComparisonResult& r : a.comparisons) {
    width = std::max(width, r.a.size() + r.b.size() + 4);
    metric_width = std::max(metric_width, r.metric_label().size() + 2);
  }
  std::cout << "\n"
            << padded("comparison (b - a)", width) << padded("metric", metric_width)
            << padded("n", 4) << padded("diff", 10) << padded("95% CI", 22) << padded("same", 6)
            << padded("t p", 8) << padded("flip p", 8) << padded("t p Holm", 10)
            << padded("flip Holm", 10) << "verdict\n";
  for (const ComparisonResult& r : a.comparisons) {
    std::cout << padded(r.b + " - " + r.a, width) << padded(r.metric_label(), metric_width)
              << padded(std::to_string(r.seeds.size()), 4);
    if (!r.stats) {
      std::cout << "fewer than 2 paired seeds\n";
      continue;
    }
    const PairedComparison& s = *r.stats;
    const int d = metric_decimals(r.b_metric);
    const auto sf = [d](double v) { return fmt(("%+." + std::to_string(d) + "f").c_str(), v); };
    std::cout << padded(sf(s.mean_diff), 10)
              << padded("[" + sf(s.ci_low) + ", " + sf(s.ci_high) + "]", 22)
              << padded(std::to_string(r.same_sign) + "/" + std::to_string(r.seeds.size()), 6)
              << padded(fmt("%.4f", s.t_p), 8) << padded(fmt("%.4f", s.sign_flip_p), 8)
              << padded(fmt("%.4f", r.t_p_holm), 10) << padded(fmt("%.4f", r.sign_flip_p_holm), 10);
    if (r.verdict) {
      std::cout << to_string(*r.verdict) << " (alpha " << fmt("%g", r.criteria->alpha)
                << ", margin " << fmt("%g", r.criteria->margin);
      if (r.criteria->min_effect > 0)
        std::cout << ", min effect " << fmt("%g", r.criteria->min_effect);
      if (r.criteria->min_same_sign > 0)
        std::cout << ", same sign >= " << r.criteria->min_same_sign;
      std::cout << ")";
    } else {
      std::cout << "-";
    }
    std::cout << "\n";
  }
}

void print_analysis(const StudyOutcome& o, const StudyAnalysis& a, const std::string& db) {
  std::cout << "study " << o.config.name << " (experiment " << o.experiment_id << " in " << db
            << "): " << to_string(a.kind) << " runs"
            << (a.kind == StudyKind::kTrain ? ", metrics on " + a.split : std::string()) << ", "
            << o.config.variants.size() << " variants x " << o.config.seeds.size() << " seeds\n";
  print_variants(a);
  print_agreement(a);
  print_comparisons(a);
}

int study(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("config", po::value<std::string>(), "study configuration (frostnas.study/1 JSON)")
    ("db", po::value<std::string>()->default_value(kDefaultStorePath), "experiment database")
    ("resume", po::value<int64_t>(), "continue study experiment ID with its stored configuration")
    ("threads", po::value<int64_t>()->default_value(0), "threads of every run (0: every core this process may use)")
    ("json", po::bool_switch()->default_value(false), "print the analysis as one JSON object")
    ("quiet", po::bool_switch()->default_value(false), "plain progress lines instead of bars");
  // clang-format on
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  if (vm.count("resume") == vm.count("config"))
    throw InputError("give --config FILE for a new study or --resume ID, not both (see --help)");
  const int64_t threads_flag = vm["threads"].as<int64_t>();
  if (threads_flag < 0 || threads_flag > 1024)
    throw InputError("--threads: " + std::to_string(threads_flag) +
                     " is out of range (allowed: 0 (all cores) or 1..1024)");
  // Bad input is refused before the database is created or touched.
  std::optional<StudyConfig> given;
  if (vm.count("config")) given = load_study_config(vm["config"].as<std::string>());
  Store store(vm["db"].as<std::string>());
  const bool resuming = vm.count("resume") > 0;
  const int64_t resume_id = resuming ? vm["resume"].as<int64_t>() : 0;
  const StudyConfig config = given ? *given : load_study(store, resume_id);

  const int64_t threads = threads_flag > 0 ? threads_flag : available_cores();
  configure_runtime(threads);
  const bool quiet = vm["quiet"].as<bool>();
  InterruptGuard interrupt;
  StudyOptions study_options;
  study_options.threads = threads;
  study_options.stop = interrupt.flag();
  study_options.on_progress = study_progress_lines(config.metrics.front());
  study_options.train_callbacks = [quiet](const StudyVariant& v, int64_t) {
    return train_progress(v.train.epochs, v.train.batch_size, quiet);
  };
  // Its stage tables go to stdout, which --json keeps for the analysis alone.
  if (!vm["json"].as<bool>()) study_options.cell_search_progress = cell_search_progress(quiet);
  const StudyOutcome outcome = resuming ? resume_study(store, resume_id, study_options)
                                        : run_study(config, store, study_options);
  if (outcome.interrupted) {
    std::cerr << "frostnas: interrupted; resume with: frostnas study --db " << store.path()
              << " --resume " << outcome.experiment_id << "\n";
    return 130;
  }
  const StudyAnalysis analysis = analyze_study(outcome.config, outcome.runs);
  if (vm["json"].as<bool>()) {
    nlohmann::json j = to_json(analysis);
    j["experiment_id"] = outcome.experiment_id;
    j["name"] = outcome.config.name;
    j["db"] = store.path();
    std::cout << j.dump(2) << "\n";
  } else {
    print_analysis(outcome, analysis, store.path());
  }
  return 0;
}

const RegisterCommand kStudy(
    {"study", "frostnas study --config FILE [--db FILE] [options] | frostnas study --resume ID",
     "Run a grid of training or cell-search variants x seeds; paired comparisons with "
     "Holm-corrected tests",
     study});

}  // namespace
}  // namespace frostnas::cli
