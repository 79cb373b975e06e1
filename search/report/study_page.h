#pragma once

#include <string>
#include <vector>

#include "search/report/report_data.h"

namespace frostnas {

/// A table as text cells: the header row first, then the rows.
using TextTable = std::vector<std::vector<std::string>>;

/// One metric's variants: name, n, mean ± sd, failed, pending and the value of every seed
/// of the study ("-" where a seed has none).
TextTable study_variant_table(const StudyConfig& config, const MetricSummary& metric);
/// Every test of the study: comparison (b - a), metric, n, difference, 95 % interval, seeds
/// with the sign of the mean, sign-flip p, t p, both Holm-adjusted, verdict (with the
/// criteria it was judged against).
TextTable study_test_table(const StudyAnalysis& analysis);
/// Kendall's W per variant and op-weight family (cell search studies; empty otherwise).
TextTable study_agreement_table(const StudyAnalysis& analysis);

/// The study page of the HTML report: the grid and its runs; per metric a dot plot of the
/// per-seed values of every variant, with a line joining the two values of each seed for
/// every comparison of that metric (paired lines), and the variants' table; per
/// comparison across metrics its own paired plot; the table of every test; for a cell
/// search study the op-ranking agreement. HTML sections (`<section>`), every text escaped.
std::string render_study_html(const ReportStudy& study);

}  // namespace frostnas
