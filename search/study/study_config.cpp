#include "search/study/study_config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/config_fields.h"
#include "common/format_tag.h"
#include "search/study/paired_stats.h"
#include "space/builtin_archs.h"

namespace frostnas {

const std::vector<std::string>& study_kinds() {
  static const std::vector<std::string> v{"train", "cell_search"};
  return v;
}

std::string to_string(StudyKind kind) { return study_kinds().at(static_cast<size_t>(kind)); }

const std::vector<std::string>& train_study_metrics() {
  static const std::vector<std::string> v{"int8_acc", "qat_acc", "fp32_acc", "int8_drop"};
  return v;
}

int metric_decimals(const std::string& metric) {
  const auto& points = train_study_metrics();
  return std::find(points.begin(), points.end(), metric) != points.end() ? 2 : 4;
}

std::string OpWeightMetric::family() const {
  return stage > 0 ? "op_weight@" + std::to_string(stage) : "op_weight";
}

std::string OpWeightMetric::name() const { return family() + ":" + op; }

std::optional<OpWeightMetric> parse_op_weight_metric(const std::string& name) {
  const std::string prefix = "op_weight";
  const size_t colon = name.find(':');
  if (name.compare(0, prefix.size(), prefix) != 0 || colon == std::string::npos) return {};
  OpWeightMetric m;
  m.op = name.substr(colon + 1);
  const std::string family = name.substr(0, colon);
  if (family != prefix) {
    const std::string stage = family.substr(prefix.size());
    if (stage.size() < 2 || stage[0] != '@' || stage.size() > 3 ||
        stage.find_first_not_of("0123456789", 1) != std::string::npos)
      return {};
    m.stage = std::stoll(stage.substr(1));
    if (m.stage < 1) return {};
  }
  if (m.op.empty()) return {};
  return m;
}

const std::vector<std::string>& study_splits() {
  static const std::vector<std::string> v{"test", "val"};
  return v;
}

namespace {

template <typename Enum>
Enum enum_in(const JsonReader& r, const std::string& key, const std::vector<std::string>& names,
             const std::string& fallback) {
  const std::string v = r.has(key) ? r.get_string_in(key, names) : fallback;
  return static_cast<Enum>(std::find(names.begin(), names.end(), v) - names.begin());
}

/// An architecture field: a built-in name, a frostnas.arch/1 file (relative to `base_dir`)
/// or an inline architecture object.
NetSpec read_arch(const JsonReader& r, const std::string& base_dir) {
  if (r.value().is_object())
    return net_spec_from_json(r.value(), r.source() + " (" + r.path() + ")", base_dir);
  if (!r.value().is_string())
    r.fail("expected a built-in architecture name, an architecture file or an object");
  const std::string name = r.value().get<std::string>();
  if (is_builtin_arch(name)) return builtin_arch(name);
  std::filesystem::path p = name;
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  if (!std::filesystem::is_regular_file(p))
    r.fail("\"" + name + "\" is neither a built-in architecture (" +
           join_strings(builtin_arch_names()) + ") nor a file");
  return load_net_spec(p.lexically_normal().string());
}

/// A training configuration object; the seed and threads belong to the study and the
/// command line.
void check_train_object(const JsonReader& t) {
  if (!t.value().is_object()) t.fail("expected an object (a training configuration)");
  if (t.has("seed")) t.fail_at("seed", "set by the study's seeds (remove it)");
  if (t.has("threads")) t.fail_at("threads", "set by --threads (remove it)");
  train_config_from_json(t);  // unknown keys and wrong types, with their path
}

StudyCriteria read_criteria(const JsonReader& c) {
  c.expect_object({"alpha", "margin", "min_effect", "min_same_sign"});
  StudyCriteria out;
  out.alpha = c.get_double_or("alpha", out.alpha, 0, 1, /*lo_open=*/true);
  if (out.alpha >= 1) c.fail_at("alpha", "must be below 1 (allowed: (0, 1))");
  out.margin = c.get_double_or("margin", out.margin, 0, 1e9);
  out.min_effect = c.get_double_or("min_effect", out.min_effect, 0, 1e9);
  out.min_same_sign = c.get_int_or("min_same_sign", out.min_same_sign, 0, kMaxExactPairs);
  return out;
}

/// `metrics` (an array of names) or the single `metric` of older studies; read after the
/// variants, whose cell searches bound the op-weight stages.
void read_metrics(const JsonReader& r, StudyConfig& c) {
  if (r.has("metric") && r.has("metrics")) r.fail_at("metric", "give metric or metrics, not both");
  if (!r.has("metrics")) {
    if (!r.has("metric")) {
      c.metrics = {c.kind == StudyKind::kTrain ? "int8_acc" : kDecidedFractionMetric};
      return;
    }
    const std::string m = r.get_string("metric");
    if (!is_study_metric(c, m))
      r.fail_at("metric",
                "\"" + m + "\" is not allowed (allowed: " + allowed_metrics_text(c) + ")");
    c.metrics = {m};
    return;
  }
  const JsonReader ms = r.at("metrics");
  ms.expect_array();
  c.metrics.clear();
  for (size_t i = 0; i < ms.size(); ++i) {
    const JsonReader e = ms.at(i);
    if (!e.value().is_string()) e.fail("expected a metric name");
    const std::string m = e.value().get<std::string>();
    if (!is_study_metric(c, m))
      e.fail("\"" + m + "\" is not allowed (allowed: " + allowed_metrics_text(c) + ")");
    if (std::find(c.metrics.begin(), c.metrics.end(), m) != c.metrics.end())
      e.fail("metric \"" + m + "\" is listed twice");
    c.metrics.push_back(m);
  }
}

/// The fewest stages of any variant's cell search (the op-weight stages all variants have).
int64_t common_stages(const StudyConfig& c) {
  int64_t stages = 0;
  for (const StudyVariant& v : c.variants) {
    const auto n = static_cast<int64_t>(v.cell_search.stages.size());
    stages = stages == 0 ? n : std::min(stages, n);
  }
  return stages;
}

/// The ops of the base cell search's cell.
std::vector<std::string> base_ops(const StudyConfig& c) {
  nlohmann::json full = c.base_cell_search;
  if (!full.contains("format")) full["format"] = kCellSearchConfigFormat;
  return cell_search_config_from_json(full, "base.cell_search").ops;
}

std::vector<int64_t> read_seeds(const JsonReader& r) {
  const JsonReader s = r.at("seeds");
  s.expect_array();
  const int64_t n = static_cast<int64_t>(s.size());
  if (n < 2 || n > kMaxExactPairs)
    s.fail(std::to_string(n) + " seeds (allowed: 2.." + std::to_string(kMaxExactPairs) +
           ", the exact sign-flip test enumerates 2^n sign patterns)");
  std::vector<int64_t> seeds;
  for (size_t i = 0; i < s.size(); ++i) {
    const JsonReader e = s.at(i);
    if (!e.value().is_number_integer() || e.value().get<int64_t>() < 0)
      e.fail("expected an integer >= 0");
    const int64_t seed = e.value().get<int64_t>();
    if (std::find(seeds.begin(), seeds.end(), seed) != seeds.end())
      e.fail("seed " + std::to_string(seed) + " is listed twice");
    seeds.push_back(seed);
  }
  return seeds;
}

/// A cell search object of a study (the base or a merged variant) read at its path.
CellSearchConfig read_cell_search(const JsonReader& r) {
  if (!r.value().is_object()) r.fail("expected an object (a cell search configuration)");
  if (r.has("seed")) r.fail_at("seed", "set by the study's seeds (remove it)");
  if (r.has("threads")) r.fail_at("threads", "set by --threads (remove it)");
  nlohmann::json full = r.value();
  if (!full.contains("format")) full["format"] = kCellSearchConfigFormat;
  CellSearchConfig out;
  read_config(JsonReader(full, r.source(), r.path()), out);
  return out;
}

void read_base(const JsonReader& b, const std::string& base_dir, StudyConfig& c) {
  if (c.kind == StudyKind::kCellSearch) {
    b.expect_object({"cell_search"});
    read_cell_search(b.at("cell_search"));
    c.base_cell_search = b.at("cell_search").value();
    return;
  }
  b.expect_object({"arch", "data", "input_size", "train"});
  c.arch = read_arch(b.at("arch"), base_dir);
  if (b.has("data")) read_data_spec(b.at("data"), c.data);
  c.input_size = b.get_int_or("input_size", 0, 0, 4096);
  if (b.has("train")) {
    const JsonReader t = b.at("train");
    check_train_object(t);
    c.base_train = t.value();
    validate(train_config_from_json(t), t.source() + ": " + t.path());
  }
}

StudyVariant read_cell_search_variant(const JsonReader& v, const StudyConfig& c, StudyVariant out) {
  if (!v.has("cell_search")) {
    out.cell_search =
        read_cell_search(JsonReader(c.base_cell_search, v.source(), "$.base.cell_search"));
    return out;
  }
  const JsonReader patch = v.at("cell_search");
  if (!patch.value().is_object())
    patch.fail("expected an object (a merge patch of base.cell_search)");
  out.cell_search_patch = patch.value();
  nlohmann::json merged = c.base_cell_search;
  merged.merge_patch(out.cell_search_patch);
  out.cell_search = read_cell_search(JsonReader(merged, v.source(), patch.path()));
  return out;
}

StudyVariant read_variant(const JsonReader& v, const StudyConfig& c, const std::string& base_dir) {
  if (c.kind == StudyKind::kCellSearch) {
    v.expect_object({"name", "cell_search"});
  } else {
    v.expect_object({"name", "train", "arch"});
  }
  StudyVariant out;
  out.name = v.get_string("name");
  if (out.name.empty() || out.name.find_first_of(" \t\n,") != std::string::npos)
    v.fail_at("name", "\"" + out.name + "\" is not a name (non-empty, no spaces or commas)");
  if (c.kind == StudyKind::kCellSearch) return read_cell_search_variant(v, c, std::move(out));
  if (v.has("train")) {
    check_train_object(v.at("train"));
    out.train_patch = v.at("train").value();
  }
  if (v.has("arch")) out.arch = read_arch(v.at("arch"), base_dir);
  out.net = out.arch ? *out.arch : c.arch;
  nlohmann::json merged = c.base_train;
  merged.merge_patch(out.train_patch);
  // Both parts were read on their own above; the merge can only fail validation, which
  // names the variant's path (a bad base value fails earlier, at $.base.train).
  out.train = train_config_from_json(merged, v.source() + ": " + v.path() + ".train");
  validate(out.train, v.source() + ": " + v.path() + ".train");
  return out;
}

void read_variants(const JsonReader& r, const std::string& base_dir, StudyConfig& c) {
  const JsonReader vs = r.at("variants");
  vs.expect_array();
  std::set<std::string> names;
  for (size_t i = 0; i < vs.size(); ++i) {
    StudyVariant v = read_variant(vs.at(i), c, base_dir);
    if (!names.insert(v.name).second)
      vs.at(i).fail_at("name", "variant \"" + v.name + "\" is declared twice");
    c.variants.push_back(std::move(v));
  }
}

void read_comparisons(const JsonReader& r, StudyConfig& c) {
  if (!r.has("comparisons")) return;
  const JsonReader cs = r.at("comparisons");
  cs.expect_array(/*allow_empty=*/true);
  std::vector<std::string> names;
  for (const StudyVariant& v : c.variants) names.push_back(v.name);
  for (size_t i = 0; i < cs.size(); ++i) {
    const JsonReader e = cs.at(i);
    e.expect_object({"a", "b", "a_metric", "b_metric", "criteria"});
    StudyComparison cmp;
    cmp.a = e.get_string_in("a", names);
    cmp.b = e.get_string_in("b", names);
    if (e.has("a_metric") != e.has("b_metric"))
      e.fail("give both a_metric and b_metric, or neither (then every metric is compared)");
    for (const char* key : {"a_metric", "b_metric"}) {
      if (!e.has(key)) continue;
      const std::string m = e.get_string(key);
      if (!is_study_metric(c, m))
        e.fail_at(key, "\"" + m + "\" is not allowed (allowed: " + allowed_metrics_text(c) + ")");
      (std::string(key) == "a_metric" ? cmp.a_metric : cmp.b_metric) = m;
    }
    if (cmp.a == cmp.b && cmp.a_metric == cmp.b_metric)
      e.fail_at("b", "compares variant \"" + cmp.a + "\" with itself");
    for (const StudyComparison& prior : c.comparisons) {
      if (prior.a == cmp.a && prior.b == cmp.b && prior.a_metric == cmp.a_metric &&
          prior.b_metric == cmp.b_metric)
        e.fail("the comparison of \"" + cmp.b + "\" against \"" + cmp.a + "\" is declared twice");
    }
    if (e.has("criteria")) cmp.criteria = read_criteria(e.at("criteria"));
    c.comparisons.push_back(std::move(cmp));
  }
}

}  // namespace

nlohmann::json to_json(const StudyCriteria& c) {
  nlohmann::json j = {{"alpha", c.alpha}, {"margin", c.margin}};
  if (c.min_effect != 0) j["min_effect"] = c.min_effect;
  if (c.min_same_sign != 0) j["min_same_sign"] = c.min_same_sign;
  return j;
}

std::string allowed_metrics_text(const StudyConfig& c) {
  if (c.kind == StudyKind::kTrain) return join_strings(train_study_metrics());
  return std::string(kDecidedFractionMetric) +
         ", op_weight:<op>, op_weight@<stage>:<op> (op: " + join_strings(base_ops(c)) +
         "; stage: 1.." + std::to_string(common_stages(c)) + ")";
}

bool is_study_metric(const StudyConfig& c, const std::string& name) {
  if (c.kind == StudyKind::kTrain) {
    const auto& names = train_study_metrics();
    return std::find(names.begin(), names.end(), name) != names.end();
  }
  if (name == kDecidedFractionMetric) return true;
  const std::optional<OpWeightMetric> m = parse_op_weight_metric(name);
  if (!m || m->stage > common_stages(c)) return false;
  const std::vector<std::string> ops = base_ops(c);
  return std::find(ops.begin(), ops.end(), m->op) != ops.end();
}

StudyConfig study_config_from_json(const nlohmann::json& j, const std::string& source,
                                   const std::string& base_dir) {
  const JsonReader r(j, source);
  r.expect_object({"format", "name", "kind", "seeds", "metric", "metrics", "split", "base",
                   "variants", "comparisons", "criteria"});
  expect_format(r, kStudyConfigFormat, "a study configuration");
  StudyConfig c;
  c.name = r.get_string_or("name", c.name);
  c.kind = enum_in<StudyKind>(r, "kind", study_kinds(), "train");
  c.seeds = read_seeds(r);
  c.split = r.has("split") ? r.get_string_in("split", study_splits()) : c.split;
  if (c.kind == StudyKind::kCellSearch && r.has("split"))
    r.fail_at("split", "a cell search study has no split (remove it)");
  read_base(r.at("base"), base_dir, c);
  read_variants(r, base_dir, c);
  read_metrics(r, c);
  read_comparisons(r, c);
  if (r.has("criteria")) c.criteria = read_criteria(r.at("criteria"));
  return c;
}

StudyConfig load_study_config(const std::string& path) {
  const std::string base = std::filesystem::path(path).parent_path().string();
  return study_config_from_json(load_json_file(path), path, base.empty() ? "." : base);
}

nlohmann::json to_json(const StudyConfig& c) {
  const bool cell = c.kind == StudyKind::kCellSearch;
  nlohmann::json variants = nlohmann::json::array();
  for (const StudyVariant& v : c.variants) {
    nlohmann::json e = {{"name", v.name}};
    if (cell) {
      e["cell_search"] = v.cell_search_patch;
    } else {
      e["train"] = v.train_patch;
      if (v.arch) e["arch"] = to_json(*v.arch);
    }
    variants.push_back(std::move(e));
  }
  nlohmann::json comparisons = nlohmann::json::array();
  for (const StudyComparison& cmp : c.comparisons) {
    nlohmann::json e = {{"a", cmp.a}, {"b", cmp.b}};
    if (!cmp.a_metric.empty()) e.update({{"a_metric", cmp.a_metric}, {"b_metric", cmp.b_metric}});
    if (cmp.criteria) e["criteria"] = to_json(*cmp.criteria);
    comparisons.push_back(std::move(e));
  }
  const nlohmann::json base = cell ? nlohmann::json{{"cell_search", c.base_cell_search}}
                                   : nlohmann::json{{"arch", to_json(c.arch)},
                                                    {"data", to_json(c.data)},
                                                    {"input_size", c.input_size},
                                                    {"train", c.base_train}};
  nlohmann::json j = {{"format", kStudyConfigFormat},
                      {"name", c.name},
                      {"kind", to_string(c.kind)},
                      {"seeds", c.seeds},
                      {"metrics", c.metrics},
                      {"base", base},
                      {"variants", std::move(variants)},
                      {"comparisons", std::move(comparisons)}};
  if (!cell) j["split"] = c.split;
  if (c.criteria) j["criteria"] = to_json(*c.criteria);
  return j;
}

std::optional<StudyCriteria> criteria_of(const StudyConfig& config, const StudyComparison& c) {
  return c.criteria ? c.criteria : config.criteria;
}

}  // namespace frostnas
