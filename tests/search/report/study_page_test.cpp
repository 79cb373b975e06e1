// The study page of the report: per metric a dot plot with a line joining the two values of
// each seed of a comparison, and the table of the tests; the same tables in Markdown; a
// study experiment in the store is shown as a study page.
#include <gtest/gtest.h>

#include "search/report/html_report.h"
#include "search/report/markdown_report.h"
#include "search/report/report_data.h"
#include "tests/search/store/temp_dir.h"
#include "tests/search/study/tiny_study.h"

using namespace frostnas;

namespace {

size_t occurrences(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

StudyRunRecord run(const std::string& variant, int64_t seed, double fp32, double int8) {
  StudyRunRecord r;
  r.variant = variant;
  r.seed = seed;
  r.status = StudyRunStatus::kDone;
  r.metrics = {{"fp32_acc", fp32}, {"int8_acc", int8}};
  return r;
}

/// Three seeds of "lo<w" and "high", fp32_acc and int8_acc, one comparison per metric and
/// one across them.
ReportData study_data() {
  nlohmann::json j = frostnas::testing::tiny_study_json();
  j["seeds"] = {0, 1, 2};
  j.erase("metric");
  j["metrics"] = {"fp32_acc", "int8_acc"};
  j["variants"] = {{{"name", "lo<w"}}, {{"name", "high"}}};
  j["comparisons"] = {
      {{"a", "lo<w"}, {"b", "high"}},
      {{"a", "high"}, {"b", "lo<w"}, {"a_metric", "fp32_acc"}, {"b_metric", "int8_acc"}}};
  const StudyConfig config = study_config_from_json(j, "s.json");
  const std::vector<StudyRunRecord> runs{run("lo<w", 0, 70, 69),   run("lo<w", 1, 72, 70.5),
                                         run("lo<w", 2, 71, 70),   run("high", 0, 74, 73),
                                         run("high", 1, 75.5, 74), run("high", 2, 73, 72.5)};
  ReportData d;
  d.db_path = "db.sqlite";
  d.experiment.id = 7;
  d.experiment.kind = kStudyExperimentKind;
  d.experiment.name = "tiny";
  d.experiment.config = to_json(config);
  d.study = ReportStudy{config, analyze_study(config, runs)};
  return d;
}

}  // namespace

TEST(StudyPage, DrawsPerSeedDotsWithPairedLinesAndTheTestTable) {
  const std::string html = render_html_report(study_data());
  ASSERT_NE(html.find("<section id=\"study\">"), std::string::npos);
  EXPECT_EQ(html.find("<section id=\"pareto\">"), std::string::npos);  // no search sections
  // One dot plot per metric and one for the comparison across metrics.
  // (A chart's title is its aria-label, its <title> and its heading.)
  EXPECT_EQ(occurrences(html, "per seed (lines join the seeds of each comparison)\" "), 2u);
  EXPECT_EQ(occurrences(html, "high int8_acc against lo&lt;w fp32_acc"), 0u);
  EXPECT_EQ(occurrences(html, "aria-label=\"lo&lt;w int8_acc against high fp32_acc per seed\""),
            1u);
  // Paired lines: 3 seeds x (2 metrics + 1 comparison across metrics), each a path.
  EXPECT_EQ(occurrences(html, "<g class=\"series\" data-series=\"seed "), 9u);
  EXPECT_NE(html.find("data-series=\"seed 1: high - lo&lt;w = +3.50\">\n<path d=\"M"),
            std::string::npos);
  // The variants name the categories of the x axis, escaped.
  EXPECT_NE(html.find(">lo&lt;w</text>"), std::string::npos);
  EXPECT_EQ(html.find("lo<w"), std::string::npos);
  // The tests: difference, interval, same-sign seeds, p-values, Holm over 3 tests, verdict.
  EXPECT_NE(html.find("Holm-adjusted over all 3 tests"), std::string::npos);
  EXPECT_NE(html.find("<td>high - lo&lt;w</td><td>fp32_acc</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>lo&lt;w - high</td><td>fp32_acc -&gt; int8_acc</td>"),
            std::string::npos);
  EXPECT_NE(html.find("3 of 3"), std::string::npos);
  EXPECT_NE(html.find("(alpha 0.050, margin 0.500)"), std::string::npos);
  EXPECT_EQ(html.find("Op ranking"), std::string::npos);  // a train study ranks no ops
}

TEST(StudyPage, MarkdownHasTheVariantAndTestTables) {
  const std::string md = render_markdown_report(study_data());
  EXPECT_NE(md.find("# frostnas study: experiment 7 tiny"), std::string::npos) << md;
  EXPECT_NE(md.find("## int8_acc"), std::string::npos);
  EXPECT_NE(md.find("| high | 3 | 74.17 ± 1.26 | 0 | 0 | 74.00 | 75.50 | 73.00 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## Comparisons (Holm over 3 tests)"), std::string::npos);
  EXPECT_NE(md.find("| high - lo\\<w | int8_acc | 3 | +3.33 |"), std::string::npos) << md;
}

TEST(StudyPage, AStoredStudyIsGatheredAsAStudyPage) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const ReportData fake = study_data();
  ExperimentRecord e;
  e.kind = kStudyExperimentKind;
  e.name = "tiny";
  e.config = fake.experiment.config;
  const int64_t id = store.create_experiment(e).id;
  StudyRunRecord r = run("high", 0, 74, 73);
  r.experiment_id = id;
  store.put_study_run(r);
  ReportOptions o;
  o.experiment_id = id;
  const ReportData d = gather_report_data(store, o);
  ASSERT_TRUE(d.study.has_value());
  EXPECT_EQ(d.study->analysis.runs_done, 1);
  EXPECT_EQ(d.study->analysis.runs_pending, 5);
  EXPECT_EQ(d.study->config.variants[0].name, "lo<w");
  EXPECT_NE(render_html_report(d).find("1 done, 0 failed, 5 pending"), std::string::npos);
}
