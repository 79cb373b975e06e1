#include "search/report/report_data.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "common/json_reader.h"
#include "search/cell/cell_search.h"
#include "search/report/pareto.h"
#include "search/report/svg_chart.h"
#include "space/arch_report.h"
#include "space/net_spec.h"
#include "space/resolved_net.h"

namespace frostnas {

namespace {

std::optional<ExperimentRecord> find_experiment(const std::vector<ExperimentRecord>& all,
                                                int64_t id) {
  for (const auto& e : all) {
    if (e.id == id) return e;
  }
  return std::nullopt;
}

std::string known_ids(const std::vector<ExperimentRecord>& all) {
  std::vector<int64_t> ids;
  for (const auto& e : all) ids.push_back(e.id);
  return ids.empty() ? "none" : join_ints(ids);
}

/// Integer ids under `key` of a JSON object (a single id or an array of ids).
std::vector<int64_t> ids_under(const nlohmann::json& j, const std::string& key) {
  std::vector<int64_t> ids;
  if (!j.is_object() || !j.contains(key)) return ids;
  const auto& v = j.at(key);
  if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
  if (v.is_array()) {
    for (const auto& x : v) {
      if (x.is_number_integer()) ids.push_back(x.get<int64_t>());
    }
  }
  return ids;
}

/// The "experiment_id" of the stage named `name`, if recorded.
std::optional<int64_t> stage_experiment(const std::vector<StageRecord>& stages,
                                        const std::string& name) {
  for (const auto& s : stages) {
    if (s.name == name && s.result.is_object() && s.result.contains("experiment_id") &&
        s.result.at("experiment_id").is_number_integer())
      return s.result.at("experiment_id").get<int64_t>();
  }
  return std::nullopt;
}

/// (candidate id, name) of the "models" list of the stage named `name`.
std::vector<std::pair<int64_t, std::string>> stage_models(const std::vector<StageRecord>& stages,
                                                          const std::string& name) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& s : stages) {
    if (s.name != name || !s.result.is_object() || !s.result.contains("models") ||
        !s.result.at("models").is_array())
      continue;
    for (const auto& m : s.result.at("models")) {
      if (!m.is_object() || !m.contains("candidate_id") ||
          !m.at("candidate_id").is_number_integer())
        continue;
      out.emplace_back(m.at("candidate_id").get<int64_t>(),
                       m.contains("name") && m.at("name").is_string()
                           ? m.at("name").get<std::string>()
                           : std::string());
    }
  }
  return out;
}

ReportModel make_model(const CandidateRecord& c, const std::string& group,
                       const std::string& source) {
  ReportModel m;
  m.candidate_id = c.id;
  m.experiment_id = c.experiment_id;
  m.seq = c.seq;
  m.group = group;
  m.arch_hash = c.arch_hash;
  m.status = c.status;
  m.error = c.error;
  m.arch = c.arch;
  m.fp32_acc = c.fp32_acc;
  m.qat_acc = c.qat_acc;
  m.int8_acc = c.int8_acc;
  m.reward = c.reward;
  m.train_seconds = c.train_seconds;
  if (c.measured_latency_ms) {
    m.latency_ms = c.measured_latency_ms;
    m.latency_source = "measured";
  } else if (c.predicted_latency_ms) {
    m.latency_ms = c.predicted_latency_ms;
    m.latency_source = "predicted";
  }
  if (c.arch.is_object() && c.arch.contains("name") && c.arch.at("name").is_string())
    m.arch_name = c.arch.at("name").get<std::string>();
  if (group == kSearchGroup) {
    m.label = "#" + std::to_string(c.seq);
  } else {
    m.label = !m.arch_name.empty() && m.arch_name != "unnamed"
                  ? m.arch_name
                  : "exp" + std::to_string(c.experiment_id) + "#" + std::to_string(c.seq);
  }
  // Architectures of block types this build does not know still get a row, without counts.
  try {
    const ResolvedNet net = resolve(net_spec_from_json(c.arch, source));
    m.params = net.params();
    m.macs = net.macs();
  } catch (const std::exception&) {
  }
  m.plotted = c.status == CandidateStatus::kDone && m.int8_acc && m.latency_ms &&
              std::isfinite(*m.int8_acc) && std::isfinite(*m.latency_ms);
  return m;
}

bool dominates(const ReportModel& a, const ReportModel& b) {
  return *a.int8_acc >= *b.int8_acc && *a.latency_ms <= *b.latency_ms &&
         (*a.int8_acc > *b.int8_acc || *a.latency_ms < *b.latency_ms);
}

std::vector<size_t> front_of(const std::vector<ReportModel>& models,
                             const std::vector<size_t>& subset) {
  std::vector<ParetoPoint> points;
  for (size_t i : subset) points.push_back({*models[i].int8_acc, *models[i].latency_ms});
  std::vector<size_t> front;
  for (size_t k : pareto_front(points)) front.push_back(subset[k]);
  return front;
}

std::vector<double> numbers(const nlohmann::json& v, const std::string& where) {
  if (!v.is_array() || v.empty())
    throw InputError(where + ": expected a non-empty array of numbers");
  std::vector<double> out;
  for (const auto& x : v) {
    if (!x.is_number()) throw InputError(where + ": expected a non-empty array of numbers");
    out.push_back(x.get<double>());
  }
  return out;
}

std::vector<std::string> names(const nlohmann::json& v, const std::string& where) {
  if (!v.is_array()) throw InputError(where + ": expected an array of op names");
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()) throw InputError(where + ": expected an array of op names");
    out.push_back(x.get<std::string>());
  }
  return out;
}

bool is_number_array(const nlohmann::json& v) {
  return v.is_array() && !v.empty() &&
         std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_number(); });
}

bool is_matrix(const nlohmann::json& v) {
  return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), is_number_array);
}

std::vector<double> normalise(const std::vector<double>& w, const std::string& where) {
  double total = 0.0;
  for (double x : w) {
    if (!(x >= 0.0) || !std::isfinite(x))
      throw InputError(where + ": probabilities must be finite and >= 0");
    total += x;
  }
  if (total <= 0.0) throw InputError(where + ": probabilities sum to 0");
  std::vector<double> out;
  for (double x : w) out.push_back(x / total);
  return out;
}

EdgeWeights make_edge(std::string name, std::vector<std::string> ops, const std::vector<double>& w,
                      bool probabilities, const std::string& where) {
  if (ops.empty()) {
    for (size_t i = 0; i < w.size(); ++i) ops.push_back("op" + std::to_string(i));
  }
  if (ops.size() != w.size()) {
    throw InputError(where + ": " + std::to_string(ops.size()) + " op names for " +
                     std::to_string(w.size()) + " weights");
  }
  for (double x : w) {
    if (!std::isfinite(x)) throw InputError(where + ": weights must be finite");
  }
  return {std::move(name), std::move(ops), probabilities ? normalise(w, where) : softmax(w)};
}

// The edge `i` of an "edges" list given as an object: its name, ops and weights.
EdgeWeights edge_from_object(const nlohmann::json& e, size_t i,
                             const std::vector<std::string>& shared_ops, const std::string& where) {
  if (!e.is_object()) throw InputError(where + ": expected an object or an array of numbers");
  std::string name = "edge " + std::to_string(i);
  if (e.contains("name") && e.at("name").is_string()) {
    name = e.at("name").get<std::string>();
  } else if (e.contains("from") && e.contains("to")) {
    name = e.at("from").dump() + "->" + e.at("to").dump();
  }
  std::vector<std::string> ops =
      e.contains("ops") ? names(e.at("ops"), where + ".ops") : shared_ops;
  bool probabilities = false;
  const nlohmann::json* w = nullptr;
  for (const char* key : {"alpha", "alphas", "logits", "weights", "probs", "softmax"}) {
    if (e.contains(key)) {
      w = &e.at(key);
      const std::string k = key;
      probabilities = k == "weights" || k == "probs" || k == "softmax";
      break;
    }
  }
  if (!w) {
    throw InputError(where +
                     ": missing weights (allowed keys: alpha, alphas, logits, probs, softmax, "
                     "weights)");
  }
  return make_edge(name, ops, numbers(*w, where), probabilities, where);
}

// The edges of an "edges" list, each an array of weights or an object.
std::vector<EdgeWeights> edges_from_list(const nlohmann::json& list,
                                         const std::vector<std::string>& shared_ops,
                                         bool normalized, const std::string& source) {
  if (!list.is_array()) throw InputError(source + ": $.edges: expected an array of edges");
  std::vector<EdgeWeights> edges;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = source + ": $.edges[" + std::to_string(i) + "]";
    const auto& e = list[i];
    if (is_number_array(e)) {
      edges.push_back(
          make_edge("edge " + std::to_string(i), shared_ops, numbers(e, where), normalized, where));
    } else {
      edges.push_back(edge_from_object(e, i, shared_ops, where));
    }
  }
  return edges;
}

// The edges of the named weight matrices and weight rows of an object.
std::vector<EdgeWeights> edges_from_named_weights(const nlohmann::json& weights,
                                                  const std::vector<std::string>& shared_ops,
                                                  bool normalized, const std::string& source) {
  std::vector<EdgeWeights> edges;
  for (const auto& [key, value] : weights.items()) {
    const std::string where = source + ": $." + key;
    if (is_matrix(value)) {
      for (size_t i = 0; i < value.size(); ++i) {
        edges.push_back(make_edge(key + "[" + std::to_string(i) + "]", shared_ops,
                                  numbers(value[i], where), normalized,
                                  where + "[" + std::to_string(i) + "]"));
      }
    } else if (is_number_array(value) && key != "ops") {
      edges.push_back(make_edge(key, shared_ops, numbers(value, where), normalized, where));
    }
  }
  return edges;
}

}  // namespace

std::optional<double> ReportModel::int8_drop() const {
  if (!fp32_acc || !int8_acc) return std::nullopt;
  return *fp32_acc - *int8_acc;
}

std::vector<size_t> ReportData::group(const std::string& name) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].group == name) out.push_back(i);
  }
  return out;
}

std::vector<double> softmax(const std::vector<double>& logits) {
  if (logits.empty()) return {};
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> out;
  double total = 0.0;
  for (double x : logits) {
    out.push_back(std::exp(x - top));
    total += out.back();
  }
  for (double& x : out) x /= total;
  return out;
}

std::vector<EdgeWeights> parse_arch_weights(const nlohmann::json& weights,
                                            const std::string& source) {
  if (is_matrix(weights)) {
    std::vector<EdgeWeights> edges;
    for (size_t i = 0; i < weights.size(); ++i) {
      const std::string where = source + ": $[" + std::to_string(i) + "]";
      edges.push_back(
          make_edge("edge " + std::to_string(i), {}, numbers(weights[i], where), false, where));
    }
    return edges;
  }
  if (!weights.is_object()) {
    throw InputError(source +
                     ": arch weights must be an object with \"edges\" or named weight matrices, "
                     "or an array of weight rows");
  }
  const bool normalized = weights.value("normalized", false);
  std::vector<std::string> shared_ops;
  if (weights.contains("ops")) shared_ops = names(weights.at("ops"), source + ": $.ops");
  if (weights.contains("edges"))
    return edges_from_list(weights.at("edges"), shared_ops, normalized, source);
  std::vector<EdgeWeights> edges =
      edges_from_named_weights(weights, shared_ops, normalized, source);
  if (edges.empty()) {
    throw InputError(source +
                     ": no edge weights found (expected \"edges\", named weight matrices or an "
                     "array of weight rows)");
  }
  return edges;
}

std::string format_metric(const std::optional<double>& v, int decimals) {
  return v ? format_number(*v, decimals) : "-";
}

std::string format_optional_count(const std::optional<int64_t>& n) {
  return n ? format_count(*n) : "-";
}

std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    const bool digits =
        !item.empty() && item.size() < 18 &&
        std::all_of(item.begin(), item.end(), [](unsigned char ch) { return std::isdigit(ch); });
    if (!digits || std::stoll(item) < 1) {
      throw InputError(flag + ": \"" + item +
                       "\" is not an experiment id (expected comma-separated ids >= 1, e.g. 3,4)");
    }
    ids.push_back(std::stoll(item));
    start = end + 1;
  }
  return ids;
}

namespace {

// The latency precision the config names, upper-cased; `fallback` when it names none.
std::string config_latency_precision(const nlohmann::json& config, const std::string& fallback) {
  if (!config.is_object() || !config.contains("latency") || !config.at("latency").is_object())
    return fallback;
  const auto& lat = config.at("latency");
  if (!lat.contains("precision") || !lat.at("precision").is_string()) return fallback;
  std::string precision = lat.at("precision").get<std::string>();
  for (char& ch : precision) ch = static_cast<char>(std::toupper(ch));
  return precision;
}

// Ids under `key` of the config, then of each stage result in order.
std::vector<int64_t> ids_named_by(const nlohmann::json& config,
                                  const std::vector<StageRecord>& stages, const std::string& key) {
  std::vector<int64_t> ids = ids_under(config, key);
  for (const auto& s : stages) {
    for (int64_t id : ids_under(s.result, key)) ids.push_back(id);
  }
  return ids;
}

// Baselines: from the flag (unknown ids are an error), then those the experiment
// names in its config or stage results (unknown ids only warn).
void gather_baseline_experiments(ReportData& d, const Store& store,
                                 const std::vector<ExperimentRecord>& all,
                                 const ReportOptions& options) {
  std::set<int64_t> seen{d.experiment.id};
  for (int64_t id : options.baseline_experiments) {
    const auto e = find_experiment(all, id);
    if (!e) {
      throw InputError("--baselines: " + std::to_string(id) + ": no such experiment in " +
                       store.path() + " (known: " + known_ids(all) + ")");
    }
    if (seen.insert(id).second) d.baseline_experiments.push_back(*e);
  }
  for (int64_t id : ids_named_by(d.experiment.config, d.stages, "baseline_experiments")) {
    const auto e = find_experiment(all, id);
    if (!e) {
      d.warnings.push_back("baseline experiment " + std::to_string(id) +
                           " named by the experiment is not in the database");
    } else if (seen.insert(id).second) {
      d.baseline_experiments.push_back(*e);
    }
  }
}

// The experiment's own candidates, else those of the search experiment its stage names.
std::vector<CandidateRecord> own_candidates(ReportData& d, const Store& store,
                                            const std::vector<ExperimentRecord>& all) {
  std::vector<CandidateRecord> own = store.list_candidates(d.experiment.id);
  if (own.empty()) {
    if (const auto search = stage_experiment(d.stages, "search")) {
      if (find_experiment(all, *search)) {
        own = store.list_candidates(*search);
      } else {
        d.warnings.push_back("search experiment " + std::to_string(*search) +
                             " named by stage search is not in the database");
      }
    }
  }
  return own;
}

// Adds the models a pipeline lists in the results of `stage`, labelled with their names.
void add_stage_models(ReportData& d, const Store& store, const std::string& stage,
                      const std::string& group, std::set<int64_t>& listed) {
  for (const auto& [id, name] : stage_models(d.stages, stage)) {
    if (!listed.insert(id).second) continue;
    try {
      ReportModel m = make_model(store.get_candidate(id), group, store.path());
      if (!name.empty()) m.label = name;
      d.models.push_back(std::move(m));
    } catch (const InputError&) {
      d.warnings.push_back("candidate " + std::to_string(id) + " named by stage " + stage +
                           " is not in the database");
    }
  }
}

// Adds every model of the report: search candidates, retrained models, then baselines.
void gather_models(ReportData& d, const Store& store, const std::vector<ExperimentRecord>& all) {
  std::set<int64_t> listed;
  for (const auto& c : own_candidates(d, store, all)) {
    d.models.push_back(make_model(c, kSearchGroup, store.path()));
    listed.insert(c.id);
  }
  add_stage_models(d, store, "retrain", kFoundGroup, listed);
  add_stage_models(d, store, "baselines", kBaselineGroup, listed);
  for (const auto& e : d.baseline_experiments) {
    for (const auto& c : store.list_candidates(e.id)) {
      if (listed.insert(c.id).second)
        d.models.push_back(make_model(c, kBaselineGroup, store.path()));
    }
  }
}

// Sets the fronts, the models' on_front and, when baselines are plotted, beyond_baselines.
void mark_fronts(ReportData& d) {
  std::vector<size_t> plotted, plotted_baselines;
  for (size_t i = 0; i < d.models.size(); ++i) {
    if (!d.models[i].plotted) continue;
    plotted.push_back(i);
    if (d.models[i].group == kBaselineGroup) plotted_baselines.push_back(i);
  }
  std::vector<size_t> front_pool = plotted;
  if (!d.group(kFoundGroup).empty()) {
    d.front_scope = "retrained and baselines";
    front_pool.erase(std::remove_if(front_pool.begin(), front_pool.end(),
                                    [&](size_t i) { return d.models[i].group == kSearchGroup; }),
                     front_pool.end());
  }
  d.front = front_of(d.models, front_pool);
  for (size_t i : d.front) d.models[i].on_front = true;
  d.baseline_front = front_of(d.models, plotted_baselines);
  if (plotted_baselines.empty()) return;
  for (size_t i : plotted) {
    ReportModel& m = d.models[i];
    if (m.group == kBaselineGroup) continue;
    m.beyond_baselines = std::none_of(plotted_baselines.begin(), plotted_baselines.end(),
                                      [&](size_t b) { return dominates(d.models[b], m); });
  }
}

// The best `top_k` finished search candidates, by reward.
std::vector<size_t> top_by_reward(const ReportData& d, int64_t top_k) {
  std::vector<size_t> top;
  for (size_t i : d.group(kSearchGroup)) {
    if (d.models[i].status == CandidateStatus::kDone && d.models[i].reward) top.push_back(i);
  }
  std::stable_sort(top.begin(), top.end(),
                   [&](size_t a, size_t b) { return *d.models[a].reward > *d.models[b].reward; });
  if (static_cast<int64_t>(top.size()) > std::max<int64_t>(top_k, 0))
    top.resize(std::max<int64_t>(top_k, 0));
  return top;
}

// Architecture weights: the experiment's own, else those of the cell search it names.
void gather_arch_weights(ReportData& d, const Store& store,
                         const std::vector<ExperimentRecord>& all) {
  std::vector<int64_t> cell_ids =
      ids_named_by(d.experiment.config, d.stages, "cell_search_experiment");
  if (const auto cell = stage_experiment(d.stages, "cell_search")) cell_ids.push_back(*cell);
  int64_t source_id = d.experiment.id;
  std::vector<ArchWeightsRecord> records = store.list_arch_weights(source_id);
  for (size_t k = 0; records.empty() && k < cell_ids.size(); ++k) {
    if (!find_experiment(all, cell_ids[k])) continue;
    source_id = cell_ids[k];
    records = store.list_arch_weights(source_id);
  }
  try {
    if (!records.empty()) d.cell_evidence = stored_derivation_evidence(store, source_id);
  } catch (const InputError& e) {
    d.warnings.push_back(e.what());
  }
  std::map<int64_t, StageWeights> stages;
  for (const auto& r : records) {
    const std::string source = store.path() + ": experiment " + std::to_string(r.experiment_id) +
                               " stage " + std::to_string(r.stage) + " epoch " +
                               std::to_string(r.epoch);
    try {
      EpochWeights epoch{r.epoch, parse_arch_weights(r.weights, source)};
      stages[r.stage].stage = r.stage;
      stages[r.stage].epochs.push_back(std::move(epoch));
    } catch (const InputError& e) {
      d.warnings.push_back(e.what());
    }
  }
  for (auto& [stage, w] : stages) d.arch_weights.push_back(std::move(w));
}

}  // namespace

ReportData gather_report_data(const Store& store, const ReportOptions& options) {
  ReportData d;
  d.db_path = store.path();
  const auto all = store.list_experiments();
  const auto main = find_experiment(all, options.experiment_id);
  if (!main) {
    throw InputError("--experiment: " + std::to_string(options.experiment_id) +
                     ": no such experiment in " + store.path() + " (known: " + known_ids(all) +
                     ")");
  }
  d.experiment = *main;
  if (d.experiment.kind == kStudyExperimentKind) {
    StudyConfig config = load_study(store, d.experiment.id);
    StudyAnalysis analysis = analyze_study(config, store.list_study_runs(d.experiment.id));
    d.study = ReportStudy{std::move(config), std::move(analysis)};
  }
  d.stages = store.list_stages(d.experiment.id);
  d.events = store.list_events(d.experiment.id);
  d.latency_precision = config_latency_precision(d.experiment.config, d.latency_precision);
  gather_baseline_experiments(d, store, all, options);
  gather_models(d, store, all);
  mark_fronts(d);
  d.top = top_by_reward(d, options.top_k);
  gather_arch_weights(d, store, all);
  return d;
}

}  // namespace frostnas
