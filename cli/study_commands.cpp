// `frostnas study`: a declared grid of training variants times seeds, recorded in the store,
// resumable, with per-variant mean ± sd and paired comparisons (95 % interval, paired t and
// exact sign-flip p-values, Holm-adjusted over the study's comparisons).
#include <algorithm>
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

std::string signed_fmt(double v) { return fmt("%+.2f", v); }

/// One line per finished run on stderr: `[3/12] plain seed 1: int8_acc 81.20 (14.2 s)`.
std::function<void(const StudyProgress&)> study_progress_lines(StudyMetric metric) {
  return [metric](const StudyProgress& p) {
    if (!p.record) return;
    std::cerr << "[" << p.index + 1 << "/" << p.total << "] " << p.variant << " seed " << p.seed
              << ": ";
    const std::optional<double> v = metric_value(p.record->metrics, metric);
    if (p.record->status == StudyRunStatus::kFailed) {
      std::cerr << "failed (" << p.record->error << ")";
    } else {
      std::cerr << to_string(metric) << " " << (v ? fmt("%.2f", *v) : "-");
    }
    std::cerr << (p.skipped ? " (recorded earlier)" : " (" + fmt("%.1f", p.record->wall_s) + " s)")
              << "\n";
  };
}

void print_variants(const StudyAnalysis& a) {
  std::cout << padded("variant", 20) << padded("n", 4) << padded("mean ± sd", 18)
            << "failed  pending\n";
  for (const VariantSummary& v : a.variants) {
    const std::string mean_sd =
        v.summary.n ? fmt("%.2f", v.summary.mean) + " ± " + fmt("%.2f", v.summary.sd)
                    : std::string("-");
    std::cout << padded(v.name, 20) << padded(std::to_string(v.summary.n), 4) << padded(mean_sd, 18)
              << padded(std::to_string(v.failed), 8) << v.pending << "\n";
  }
}

void print_comparisons(const StudyAnalysis& a) {
  if (a.comparisons.empty()) return;
  size_t width = 28;
  for (const ComparisonResult& r : a.comparisons)
    width = std::max(width, r.a.size() + r.b.size() + 4);
  std::cout << "\n"
            << padded("comparison (b - a)", width) << padded("n", 4) << padded("diff", 8)
            << padded("95% CI", 18) << padded("t p", 8) << padded("flip p", 8)
            << padded("t p Holm", 10) << padded("flip Holm", 10) << "verdict\n";
  for (const ComparisonResult& r : a.comparisons) {
    std::cout << padded(r.b + " - " + r.a, width) << padded(std::to_string(r.seeds.size()), 4);
    if (!r.stats) {
      std::cout << "fewer than 2 paired seeds\n";
      continue;
    }
    const PairedComparison& s = *r.stats;
    std::cout << padded(signed_fmt(s.mean_diff), 8)
              << padded("[" + signed_fmt(s.ci_low) + ", " + signed_fmt(s.ci_high) + "]", 18)
              << padded(fmt("%.4f", s.t_p), 8) << padded(fmt("%.4f", s.sign_flip_p), 8)
              << padded(fmt("%.4f", r.t_p_holm), 10) << padded(fmt("%.4f", r.sign_flip_p_holm), 10);
    if (r.verdict) {
      std::cout << to_string(*r.verdict) << " (alpha " << fmt("%g", r.criteria->alpha)
                << ", margin " << fmt("%g", r.criteria->margin) << ")";
    } else {
      std::cout << "-";
    }
    std::cout << "\n";
  }
}

void print_analysis(const StudyOutcome& o, const StudyAnalysis& a, const std::string& db) {
  std::cout << "study " << o.config.name << " (experiment " << o.experiment_id << " in " << db
            << "): " << to_string(a.metric) << " on " << a.split << ", " << o.config.variants.size()
            << " variants x " << o.config.seeds.size() << " seeds\n";
  print_variants(a);
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
  study_options.on_progress = study_progress_lines(config.metric);
  study_options.train_callbacks = [quiet](const StudyVariant& v, int64_t) {
    return train_progress(v.train.epochs, v.train.batch_size, quiet);
  };
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
     "Run a grid of training variants x seeds; paired comparisons with Holm-corrected tests",
     study});

}  // namespace
}  // namespace frostnas::cli
