// `frostnas report`: one self-contained HTML page (and optionally a Markdown summary)
// of an experiment in the store.
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "common/error.h"
#include "search/report/html_report.h"
#include "search/report/markdown_report.h"
#include "search/report/report_data.h"
#include "search/report/report_file.h"
#include "search/store/store.h"

namespace frostnas::cli {
namespace {

int report(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("db", po::value<std::string>()->default_value(kDefaultStorePath),
                        "experiment database")("experiment", po::value<int64_t>(),
                                               "experiment ID (frostnas runs)")(
      "out", po::value<std::string>(), "HTML file to write")(
      "markdown", po::value<std::string>(), "also write a Markdown summary to this file")(
      "baselines", po::value<std::string>(),
      "experiment IDs whose candidates are drawn as baselines, e.g. 3,4")(
      "top", po::value<int64_t>()->default_value(10), "how many top architectures to list");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  if (!vm.count("experiment")) throw InputError("missing --experiment ID (see frostnas runs)");
  if (!vm.count("out")) throw InputError("missing --out FILE");
  ReportOptions report_options;
  report_options.experiment_id = vm["experiment"].as<int64_t>();
  report_options.top_k = vm["top"].as<int64_t>();
  if (report_options.top_k < 1) {
    throw InputError("--top: " + std::to_string(report_options.top_k) +
                     " is out of range (allowed: >= 1)");
  }
  if (vm.count("baselines"))
    report_options.baseline_experiments =
        parse_id_list(vm["baselines"].as<std::string>(), "--baselines");
  // Checked before opening: the store would create a missing database.
  const std::string db = vm["db"].as<std::string>();
  if (!std::filesystem::is_regular_file(db)) throw InputError("--db: " + db + ": no such database");
  std::optional<Store> store;
  try {
    store.emplace(db);
  } catch (const InputError& e) {
    throw InputError(std::string("--db: ") + e.what());
  }
  const ReportData data = gather_report_data(*store, report_options);

  std::vector<OutputFile> files{{"--out", vm["out"].as<std::string>(), render_html_report(data)}};
  if (vm.count("markdown"))
    files.push_back({"--markdown", vm["markdown"].as<std::string>(), render_markdown_report(data)});
  write_files_atomically(files);

  size_t plotted = 0;
  for (const auto& m : data.models) plotted += m.plotted ? 1 : 0;
  if (data.study) {
    std::cout << files[0].path << ": study page of experiment " << data.experiment.id << ", "
              << data.study->analysis.per_metric.size() << " metrics, "
              << data.study->analysis.comparisons.size() << " tests, "
              << data.study->analysis.runs_done << " runs done\n";
  } else {
    std::cout << files[0].path << ": experiment " << data.experiment.id << ", "
              << data.group(kSearchGroup).size() << " candidates, "
              << data.group(kBaselineGroup).size() << " baselines, " << data.front.size() << " of "
              << plotted << " plotted models on the Pareto front\n";
  }
  if (files.size() > 1) std::cout << files[1].path << ": Markdown summary\n";
  for (const auto& w : data.warnings) std::cerr << "frostnas: warning: " << w << "\n";
  return 0;
}

const RegisterCommand kReport(
    {"report",
     "frostnas report --experiment ID --out report.html [--markdown FILE] [--baselines ID,ID] "
     "[--db FILE]",
     "Write an experiment's self-contained HTML report (and a Markdown summary)", report});

}  // namespace
}  // namespace frostnas::cli
