#pragma once

#include <string>

#include "search/report/report_data.h"

namespace frostnas {

/// The report's key tables as Markdown: the experiment, the top architectures,
/// the baselines, the Pareto front (with whether each search model lies beyond the
/// baselines' front), the cell search's strongest op per edge and the pipeline stages.
/// Table cells have `|` escaped and newlines flattened.
std::string render_markdown_report(const ReportData& data);

}  // namespace frostnas
