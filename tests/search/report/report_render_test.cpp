#include <gtest/gtest.h>

#include "search/report/html_report.h"
#include "search/report/markdown_report.h"
#include "search/report/report_data.h"
#include "search/report/svg_chart.h"
#include "tests/search/report/report_fixture.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;
using frostnas::testing::make_report_db;

namespace {

ReportData fixture_data(const TempDir& dir, bool baselines, bool empty = false) {
  const auto ids = make_report_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  ReportOptions o;
  o.experiment_id = empty ? ids.empty_id : ids.search_id;
  if (baselines) o.baseline_experiments = {ids.baseline_id};
  return gather_report_data(store, o);
}

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

/// The text of the section with this id.
std::string section(const std::string& html, const std::string& id) {
  const size_t start = html.find("<section id=\"" + id + "\">");
  if (start == std::string::npos) return "";
  return html.substr(start, html.find("</section>", start) - start);
}

}  // namespace

TEST(HtmlReport, IsSelfContainedAndEscapesText) {
  TempDir dir;
  const std::string html = render_html_report(fixture_data(dir, true));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(has(html, "</html>"));
  EXPECT_FALSE(has(html, "<script"));
  EXPECT_FALSE(has(html, "http://") && !has(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_FALSE(has(html, "https://"));
  EXPECT_FALSE(has(html, "<link"));
  // Names, errors, events and the config are escaped everywhere.
  EXPECT_TRUE(has(html, "quick &lt;search&gt; &amp; &quot;co&quot;"));
  EXPECT_FALSE(has(html, "<search>"));
  EXPECT_TRUE(has(html, "mbv2 &lt;&amp;&gt; &quot;x&quot;"));
  EXPECT_FALSE(has(html, "mbv2 <&>"));
  EXPECT_TRUE(has(html, "out of &lt;memory&gt; &amp; time"));
  EXPECT_TRUE(has(html, "slow &lt;step&gt;"));
  EXPECT_TRUE(has(html, "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST(HtmlReport, PlotsEveryPointWithTheFront) {
  TempDir dir;
  const std::string html = render_html_report(fixture_data(dir, true));
  const std::string pareto = section(html, "pareto");
  ASSERT_FALSE(pareto.empty());
  EXPECT_TRUE(has(pareto, "<svg"));
  EXPECT_TRUE(has(pareto, "search candidates (4)"));
  EXPECT_TRUE(has(pareto, "baselines (2)"));
  EXPECT_TRUE(has(pareto, "Pareto front (all models)"));
  EXPECT_TRUE(has(pareto, "Pareto front (baselines)"));
  // One tooltip per plotted point (and one more per front ring).
  EXPECT_TRUE(
      has(pareto, "<title>#3 (hash-c3)\nINT8 accuracy 72.00%\nlatency 0.700 ms (predicted)"));
  EXPECT_TRUE(
      has(pareto, "<title>#4 (hash-c4)\nINT8 accuracy 80.00%\nlatency 0.900 ms (measured)"));
  EXPECT_FALSE(has(pareto, "hash-c5"));  // failed: not plotted
  // Labels: front members and all baselines.
  EXPECT_TRUE(has(pareto, ">#1</text>"));
  EXPECT_FALSE(has(pareto, ">#3</text>"));
  EXPECT_TRUE(has(pareto, ">mbv2 &lt;&amp;&gt; &quot;x&quot;</text>"));
  // The front table and the verdict.
  EXPECT_TRUE(has(pareto,
                  "3 of 4 search candidates are not dominated by any baseline; 3 lie on "
                  "the front of all models."));
  // Other sections have their charts.
  EXPECT_TRUE(has(section(html, "reward"), "running best"));
  EXPECT_TRUE(has(section(html, "reward"), "failed (penalty reward)"));
  EXPECT_TRUE(has(section(html, "drop"), "<title>#4: FP32 82.50%, INT8 80.00%, drop 2.50</title>"));
  EXPECT_TRUE(
      has(section(html, "drop"), "<title>frostnet-small: FP32 75.00%, INT8 74.00%, drop 1.00"));
  const std::string cell = section(html, "cell");
  EXPECT_TRUE(has(cell, "Stage 1: epoch 1 (last of 2 recorded)"));
  EXPECT_TRUE(has(cell, "<title>0-&gt;1: dwconv_3x3 0.625</title>"));
  EXPECT_TRUE(
      has(cell, "Op weights over the epochs of stage 1"));  // stage 1 has two epochs: a heat map
  EXPECT_TRUE(has(html, "stage 3 epoch 0"));                // the malformed document is a warning
  const std::string top = section(html, "top");
  EXPECT_LT(top.find("architecture JSON of #4"), top.find("architecture JSON of #2"));
  EXPECT_TRUE(has(top, "&quot;format&quot;: &quot;frostnas.arch/1&quot;"));
}

TEST(HtmlReport, SectionsWithoutDataSaySo) {
  TempDir dir;
  const std::string html = render_html_report(fixture_data(dir, false, true));
  EXPECT_FALSE(has(html, "<svg"));
  EXPECT_TRUE(has(section(html, "pareto"), "nothing to plot"));
  EXPECT_TRUE(has(section(html, "reward"), "No candidate has a reward yet."));
  EXPECT_TRUE(has(section(html, "drop"), "No model has both an FP32 and an INT8 accuracy"));
  EXPECT_TRUE(has(section(html, "cell"), "No architecture weights are recorded"));
  EXPECT_TRUE(has(section(html, "top"), "No candidate of this experiment has finished"));
  EXPECT_TRUE(has(section(html, "baselines"), "No baselines"));
}

TEST(MarkdownReport, HasTheKeyTables) {
  TempDir dir;
  const std::string md = render_markdown_report(fixture_data(dir, true));
  EXPECT_EQ(md.rfind("# frostnas report: experiment 1 \"quick \\<search> & \"co\"\"\n", 0), 0u);
  EXPECT_TRUE(has(md, "| 1 | #4 | hash-c4 | 0.7200 | 80.00 | 82.50 | 2.50 | 0.900 | "));
  EXPECT_TRUE(has(md, "| 2 | #2 | hash-c2 | 0.7000 | 75.00 | - | - | 0.600 (p) | "));
  EXPECT_TRUE(has(md, "| mbv2 \\<&> \"x\" | 2 | 78.00 | 80.00 | 2.00 | 0.950 (p) | "));
  EXPECT_TRUE(has(md, "| no |\n"));  // mbv2 is off the front
  // Pareto front rows, by latency, with the verdict against the baselines.
  const size_t front = md.find("## Pareto front");
  ASSERT_NE(front, std::string::npos);
  const std::string f = md.substr(front);
  EXPECT_TRUE(has(f,
                  "| #1 | search | 70.00 | 0.500 (p) | 0.6000 | yes |\n"
                  "| frostnet-small | baseline | 74.00 | 0.550 (p) | - | - |\n"
                  "| #2 | search | 75.00 | 0.600 (p) | 0.7000 | yes |\n"
                  "| #4 | search | 80.00 | 0.900 | 0.7200 | yes |\n"));
  EXPECT_TRUE(has(f, "3 of 4 search candidates are not dominated by any baseline"));
  EXPECT_TRUE(has(md, "| 1 | 1 | 0->1 | dwconv_3x3 | 0.625 |"));
  EXPECT_TRUE(has(md, "| search | done |"));
}

TEST(MarkdownReport, EscapesTablePipes) {
  TempDir dir;
  ReportData d = fixture_data(dir, false);
  d.models[d.top.front()].label = "a|b\nc";
  const std::string md = render_markdown_report(d);
  EXPECT_TRUE(has(md, "| 1 | a\\|b c |"));
}

TEST(HtmlReport, PipelineShowsFoundNetworksAgainstBaselines) {
  TempDir dir;
  const int64_t pipeline = frostnas::testing::make_pipeline_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  ReportOptions o;
  o.experiment_id = pipeline;
  const ReportData d = gather_report_data(store, o);
  const std::string html = render_html_report(d);
  const std::string pareto = section(html, "pareto");
  EXPECT_TRUE(has(pareto, "retrained found networks (1)"));
  EXPECT_TRUE(has(pareto, ">found-1</text>"));
  EXPECT_TRUE(has(pareto,
                  "1 of 1 retrained found networks are not dominated by any baseline; 1 "
                  "lie on the front of retrained and baselines."));
  EXPECT_TRUE(has(pareto, "0 of 2 search candidates are not dominated by any baseline"));
  EXPECT_TRUE(has(section(html, "found"), "found-1"));
  EXPECT_TRUE(has(section(html, "cell"), "<title>0-&gt;1: se 0.750</title>"));
  const std::string md = render_markdown_report(d);
  EXPECT_TRUE(has(md, "## Retrained found networks\n\n"));
  EXPECT_TRUE(has(md, "| found-1 | 3 | 78.00 | 79.00 | 1.00 | 0.550 | "));
  EXPECT_TRUE(has(md, "| yes | yes |\n"));  // on the front, beyond the baselines
}

namespace {

/// make_pipeline_db with a derived genotype (0->1 se, 0.75 against skip 0.25) recorded by
/// its cell search (experiment 2): with `evidence` at a margin of 0.9 (undecided), else
/// as a search stored before the evidence was (then assessed with kDecidedMargin).
ReportData pipeline_with_derived_cell(const TempDir& dir, bool evidence) {
  const int64_t pipeline = frostnas::testing::make_pipeline_db(dir.file("db.sqlite"));
  Store store(dir.file("db.sqlite"));
  Genotype g;
  g.nodes = {{{0, "se"}}};
  nlohmann::json result = {{"genotype", to_json(g)}};
  if (evidence) {
    ArchWeights w;
    w.nodes = 1;
    w.ops = {{"skip", "se"}};
    w.weights = {{0.25, 0.75}};
    result["evidence"] = to_json(assess_derivation(w, g, 0.9));
  }
  store.set_stage(2, "derive", StageStatus::kDone, result);
  ReportOptions o;
  o.experiment_id = pipeline;
  return gather_report_data(store, o);
}

}  // namespace

TEST(Report, SaysPlainlyWhenTheCellSearchIsUndecided) {
  TempDir dir;
  const ReportData d = pipeline_with_derived_cell(dir, true);
  ASSERT_TRUE(d.cell_evidence.has_value());
  EXPECT_FALSE(d.cell_evidence->decided());
  const std::string line =
      "UNDECIDED: 1 of 1 derived edges are within the seed-to-seed spread (margin < 0.900: 0->1 "
      "se +0.500); this genotype is not a finding: run more seeds or a longer search";
  const std::string md = render_markdown_report(d);
  EXPECT_TRUE(has(md, "**UNDECIDED: 1 of 1 derived edges are within the seed-to-seed spread"));
  EXPECT_TRUE(has(md, "this genotype is not a finding: run more seeds or a longer search**"));
  EXPECT_TRUE(has(md, "| 1 | 0 | se | skip | 0.500 | no |")) << md;
  EXPECT_TRUE(
      has(section(render_html_report(d), "cell"), "<strong>" + escape_xml(line) + "</strong>"));
}

TEST(Report, ACellSearchStoredWithoutEvidenceIsAssessedFromItsWeights) {
  TempDir dir;
  const ReportData d = pipeline_with_derived_cell(dir, false);
  ASSERT_TRUE(d.cell_evidence.has_value());
  EXPECT_EQ(d.cell_evidence->decided_margin, kDecidedMargin);
  ASSERT_EQ(d.cell_evidence->edges.size(), 1u);
  EXPECT_NEAR(d.cell_evidence->edges[0].margin, 0.5, 1e-12);
  EXPECT_TRUE(d.cell_evidence->decided());  // 0.5 clears the default margin
  EXPECT_TRUE(has(render_markdown_report(d), "**decided: every derived edge clears the margin"));
}
