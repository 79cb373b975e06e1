#pragma once

#include <string>

#include "search/report/report_data.h"

namespace frostnas {

/// The report as one self-contained HTML page (inline CSS and SVG charts, no scripts,
/// no external resources): the experiment header; (1) INT8 accuracy against latency
/// for all models with the Pareto fronts; (2) reward over candidates with the running
/// best; (3) the FP32-to-INT8 accuracy drop per model; (4) the cell search's
/// architecture weights per stage; (5) the top architectures with their JSON;
/// baselines, failures, pipeline stages, the experiment config and the event log.
/// Sections without data say so instead of drawing an empty chart. All text is escaped.
std::string render_html_report(const ReportData& data);

}  // namespace frostnas
