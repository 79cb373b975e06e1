#include "experiments/pipeline/pipeline_config.h"

#include <algorithm>
#include <filesystem>

#include "common/config_fields.h"
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

std::vector<std::string> read_frostnet_names(const JsonReader& names) {
  names.expect_array(/*allow_empty=*/true);
  std::vector<std::string> out;
  const std::vector<std::string> known = builtin_arch_names();
  for (size_t i = 0; i < names.size(); ++i) {
    const JsonReader n = names.at(i);
    if (!n.value().is_string() ||
        std::find(known.begin(), known.end(), n.value().get<std::string>()) == known.end())
      n.fail("not a built-in architecture (allowed: " + join_strings(known) + ")");
    out.push_back(n.value().get<std::string>());
  }
  return out;
}

std::vector<double> read_widths(const JsonReader& widths) {
  widths.expect_array(/*allow_empty=*/true);
  std::vector<double> out;
  for (size_t i = 0; i < widths.size(); ++i) {
    const JsonReader w = widths.at(i);
    if (!w.value().is_number() || w.value().get<double>() <= 0.0 ||
        w.value().get<double>() > kMaxWidthMult)
      w.fail("width multiplier out of range (allowed: (0, " + std::to_string(kMaxWidthMult) + "])");
    out.push_back(w.value().get<double>());
  }
  return out;
}

}  // namespace

void config_fields(ConfigFields& f, RetrainConfig& t) {
  f.integer("top_k", t.top_k, 1, 100);
  f.nested("data", t.data);
  validated_train_field(f, "train", t.train);
}

void config_fields(ConfigFields& f, BaselineConfig& b) {
  f.custom(
      "frostnet",
      [&b](const JsonReader& r) {
        if (r.has("frostnet")) b.frostnet = read_frostnet_names(r.at("frostnet"));
      },
      [&b] { return nlohmann::json(b.frostnet); });
  f.custom(
      "mobilenet_widths",
      [&b](const JsonReader& r) {
        if (r.has("mobilenet_widths")) b.mobilenet_widths = read_widths(r.at("mobilenet_widths"));
      },
      [&b] { return nlohmann::json(b.mobilenet_widths); });
}

void config_fields(ConfigFields& f, MeasureConfig& m) {
  f.integer("threads", m.threads, 1, 256);
  f.integer("warmup", m.warmup, 0, 10000);
  f.integer("rounds", m.rounds, 1, 100000);
}

namespace {

/// A pipeline configuration with where it came from: its source, the folder relative paths
/// resolve against, the files the search and the cell search were read from ("" when
/// inline) and the quick flag.
struct PipelineConfigFile {
  PipelineConfig* config = nullptr;
  std::string source;
  std::string base_dir;
  bool quick = false;
  std::string search_source;
  std::string cell_search_source;
};

/// "search" (required) and "cell_search" (null: skipped), both already read in from their
/// files by expand_pipeline_json.
void search_fields(ConfigFields& f, PipelineConfigFile& file) {
  PipelineConfig& c = *file.config;
  f.custom(
      "search",
      [&c, &file](const JsonReader& r) {
        const JsonReader search = r.at("search");
        if (!search.value().is_object())
          r.fail_at("search", "must be a path to a frostnas.search/1 file or an inline object");
        const std::string source =
            file.search_source.empty() ? file.source + " ($.search)" : file.search_source;
        c.search = search_config_from_json(search.value(), source, file.base_dir);
        c.search.seed = c.seed;
        // Retraining uses the search's data (all of its training images) and training
        // settings where "retrain" does not override them.
        c.retrain.data = c.search.data;
        c.retrain.data.train_subset = 0;
        c.retrain.train = c.search.train;
      },
      [&c] { return c.search.to_json(); }, FieldRule::kRequired);
  f.custom(
      "cell_search",
      [&c, &file](const JsonReader& r) {
        if (!r.has("cell_search") || r.at("cell_search").value().is_null()) return;
        const JsonReader cell = r.at("cell_search");
        if (!cell.value().is_object())
          r.fail_at("cell_search",
                    "must be a path to a frostnas.cell_search/1 file, an inline object or null");
        c.cell_search = cell.value();
        c.cell_search_source = file.cell_search_source.empty() ? file.source + " ($.cell_search)"
                                                               : file.cell_search_source;
      },
      [&c] { return c.cell_search; });
}

void config_fields(ConfigFields& f, PipelineConfigFile& file) {
  PipelineConfig& c = *file.config;
  f.format(kPipelineFormat, "a pipeline configuration");
  f.text("name", c.name);
  f.integer("seed", c.seed);
  search_fields(f, file);
  f.nested("retrain", c.retrain);
  f.nested("baselines", c.baselines);
  f.nested("measure", c.measure);
  // The quick overrides are applied (expand_pipeline_json) before the fields are read.
  f.custom(
      "quick", [](const JsonReader&) {}, [] { return nlohmann::json::object(); });
  f.custom(
      "quick_applied",
      [&c, &file](const JsonReader& r) {
        c.quick = file.quick || r.get_bool_or("quick_applied", false);
      },
      [&c] { return nlohmann::json(c.quick); });
}

/// `given` with the search and cell-search files it names read in (so that the quick patch
/// can reach inside them) and, with `quick`, the quick patch applied; the files read are
/// recorded in `file`.
nlohmann::json expand_pipeline_json(const nlohmann::json& given, PipelineConfigFile& file) {
  nlohmann::json j = given;
  JsonReader r(given, file.source);
  r.expect_object(config_keys(file));
  expect_format(r, kPipelineFormat, "a pipeline configuration");
  if (r.has("quick") && !r.at("quick").value().is_object())
    r.fail_at("quick", "must be an object of overrides (a JSON merge patch)");
  if (r.has("search") && r.at("search").value().is_string()) {
    const std::string path = resolve_path(file.base_dir, j["search"].get<std::string>());
    nlohmann::json s = load_json_file(path);
    if (s.is_object() && s.contains("space") && s["space"].is_string())
      s["space"] = resolve_path(dir_of(path), s["space"].get<std::string>());
    j["search"] = s;
    file.search_source = path;
  }
  if (r.has("cell_search") && r.at("cell_search").value().is_string()) {
    const std::string path = resolve_path(file.base_dir, j["cell_search"].get<std::string>());
    j["cell_search"] = load_json_file(path);
    file.cell_search_source = path;
  }
  if (file.quick && r.has("quick")) j.merge_patch(given.at("quick"));
  return j;
}

}  // namespace

nlohmann::json PipelineConfig::to_json() const {
  PipelineConfigFile file;
  file.config = const_cast<PipelineConfig*>(this);
  return write_config(file);
}

PipelineConfig pipeline_config_from_json(const nlohmann::json& given, const std::string& source,
                                         const std::string& base_dir, bool quick) {
  PipelineConfig c;
  PipelineConfigFile file;
  file.config = &c;
  file.source = source;
  file.base_dir = base_dir;
  file.quick = quick;
  const nlohmann::json j = expand_pipeline_json(given, file);
  read_config(JsonReader(j, source), file);
  return c;
}

PipelineConfig load_pipeline_config(const std::string& path, bool quick) {
  return pipeline_config_from_json(load_json_file(path), path, dir_of(path), quick);
}

void set_weight_quant(PipelineConfig& config, WeightQuant weights) {
  config.search.train.weight_quant = weights;
  config.retrain.train.weight_quant = weights;
  if (!config.cell_search.is_null()) config.cell_search["weight_quant"] = to_string(weights);
}

}  // namespace frostnas
