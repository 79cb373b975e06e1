#include "experiments/pipeline/pipeline_config.h"

#include <algorithm>
#include <filesystem>

#include "common/format_tag.h"
#include "common/json_reader.h"
#include "space/builtin_archs.h"

namespace frostnas {
namespace {

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p = path;
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

std::string dir_of(const std::string& path) {
  const std::string d = std::filesystem::path(path).parent_path().string();
  return d.empty() ? "." : d;
}

}  // namespace

nlohmann::json PipelineConfig::to_json() const {
  nlohmann::json mobilenet = nlohmann::json::array();
  for (double w : baselines.mobilenet_widths) mobilenet.push_back(w);
  return {{"format", kPipelineFormat},
          {"name", name},
          {"seed", seed},
          {"search", search.to_json()},
          {"cell_search", cell_search},
          {"retrain",
           {{"top_k", retrain.top_k},
            {"data", frostnas::to_json(retrain.data)},
            {"train", frostnas::to_json(retrain.train)}}},
          {"baselines", {{"frostnet", baselines.frostnet}, {"mobilenet_widths", mobilenet}}},
          {"measure",
           {{"threads", measure.threads}, {"warmup", measure.warmup}, {"rounds", measure.rounds}}},
          {"quick", nlohmann::json::object()},
          {"quick_applied", quick}};
}

namespace {

/// `given` with the search and cell-search files it names read in (so that the quick patch
/// can reach inside them) and, with `quick`, the quick patch applied.
nlohmann::json expand_pipeline_json(const nlohmann::json& given, const std::string& source,
                                    const std::string& base_dir, bool quick) {
  nlohmann::json j = given;
  JsonReader r(given, source);
  r.expect_object({"format", "name", "seed", "search", "cell_search", "retrain", "baselines",
                   "measure", "quick", "quick_applied"});
  expect_format(r, kPipelineFormat, "a pipeline configuration");
  if (r.has("quick") && !r.at("quick").value().is_object())
    r.fail_at("quick", "must be an object of overrides (a JSON merge patch)");
  if (r.has("search") && r.at("search").value().is_string()) {
    const std::string path = resolve_path(base_dir, j["search"].get<std::string>());
    nlohmann::json s = load_json_file(path);
    if (s.is_object() && s.contains("space") && s["space"].is_string())
      s["space"] = resolve_path(dir_of(path), s["space"].get<std::string>());
    j["search"] = s;
    j["search_source"] = path;
  }
  if (r.has("cell_search") && r.at("cell_search").value().is_string()) {
    const std::string path = resolve_path(base_dir, j["cell_search"].get<std::string>());
    j["cell_search"] = load_json_file(path);
    j["cell_search_source"] = path;
  }
  if (quick && r.has("quick")) j.merge_patch(given.at("quick"));
  return j;
}

void read_retrain(const JsonReader& r, const std::string& source, PipelineConfig& c) {
  c.retrain.data = c.search.data;
  c.retrain.data.train_subset = 0;
  c.retrain.train = c.search.train;
  if (!r.has("retrain")) return;
  const JsonReader t = r.at("retrain");
  t.expect_object({"top_k", "data", "train"});
  c.retrain.top_k = t.get_int_or("top_k", c.retrain.top_k, 1, 100);
  if (t.has("data")) read_data_spec(t.at("data"), c.retrain.data);
  if (t.has("train")) c.retrain.train = train_config_from_json(t.at("train"));
  validate(c.retrain.train, source + ": $.retrain.train");
}

void read_baselines(const JsonReader& b, BaselineConfig& out) {
  b.expect_object({"frostnet", "mobilenet_widths"});
  if (b.has("frostnet")) {
    const JsonReader names = b.at("frostnet");
    names.expect_array(/*allow_empty=*/true);
    out.frostnet.clear();
    const std::vector<std::string> known = builtin_arch_names();
    for (size_t i = 0; i < names.size(); ++i) {
      const JsonReader n = names.at(i);
      if (!n.value().is_string() ||
          std::find(known.begin(), known.end(), n.value().get<std::string>()) == known.end())
        n.fail("not a built-in architecture (allowed: " + join_strings(known) + ")");
      out.frostnet.push_back(n.value().get<std::string>());
    }
  }
  if (b.has("mobilenet_widths")) {
    const JsonReader widths = b.at("mobilenet_widths");
    widths.expect_array(/*allow_empty=*/true);
    out.mobilenet_widths.clear();
    for (size_t i = 0; i < widths.size(); ++i) {
      const JsonReader w = widths.at(i);
      if (!w.value().is_number() || w.value().get<double>() <= 0.0 ||
          w.value().get<double>() > kMaxWidthMult)
        w.fail("width multiplier out of range (allowed: (0, " + std::to_string(kMaxWidthMult) +
               "])");
      out.mobilenet_widths.push_back(w.value().get<double>());
    }
  }
}

}  // namespace

PipelineConfig pipeline_config_from_json(const nlohmann::json& given, const std::string& source,
                                         const std::string& base_dir, bool quick) {
  const nlohmann::json j = expand_pipeline_json(given, source, base_dir, quick);
  JsonReader r(j, source);
  PipelineConfig c;
  c.quick = quick || r.get_bool_or("quick_applied", false);
  c.name = r.get_string_or("name", c.name);
  c.seed = static_cast<uint64_t>(r.get_int_or("seed", 0, 0, INT64_MAX));

  const JsonReader search = r.at("search");
  if (!search.value().is_object())
    r.fail_at("search", "must be a path to a frostnas.search/1 file or an inline object");
  const std::string search_source = j.value("search_source", source + " ($.search)");
  c.search = search_config_from_json(search.value(), search_source, base_dir);
  c.search.seed = c.seed;

  if (r.has("cell_search") && !r.at("cell_search").value().is_null()) {
    const JsonReader cell = r.at("cell_search");
    if (!cell.value().is_object())
      r.fail_at("cell_search",
                "must be a path to a frostnas.cell_search/1 file, an inline object or null");
    c.cell_search = cell.value();
    c.cell_search_source = j.value("cell_search_source", source + " ($.cell_search)");
  }
  read_retrain(r, source, c);
  if (r.has("baselines")) read_baselines(r.at("baselines"), c.baselines);
  if (r.has("measure")) {
    const JsonReader m = r.at("measure");
    m.expect_object({"threads", "warmup", "rounds"});
    c.measure.threads = m.get_int_or("threads", c.measure.threads, 1, 256);
    c.measure.warmup = m.get_int_or("warmup", c.measure.warmup, 0, 10000);
    c.measure.rounds = m.get_int_or("rounds", c.measure.rounds, 1, 100000);
  }
  return c;
}

PipelineConfig load_pipeline_config(const std::string& path, bool quick) {
  return pipeline_config_from_json(load_json_file(path), path, dir_of(path), quick);
}

}  // namespace frostnas
