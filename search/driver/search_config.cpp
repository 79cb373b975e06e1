#include "search/driver/search_config.h"

#include <filesystem>

#include "controllers/strategy.h"
#include "space/json_reader.h"

namespace frostnas {

nlohmann::json SearchConfig::to_json() const {
  nlohmann::json j = {{"format", kSearchConfigFormat},
                      {"name", name},
                      {"space", frostnas::to_json(space)},
                      {"strategy", {{"name", strategy}, {"options", strategy_options}}},
                      {"samples", samples},
                      {"seed", seed},
                      {"data",
                       {{"name", data.name},
                        {"dir", data.dir},
                        {"train_subset", data.train_subset},
                        {"val_size", data.val_size}}},
                      {"train", frostnas::to_json(train)},
                      {"metric", frostnas::to_string(metric)},
                      {"latency",
                       {{"source", latency.source},
                        {"precision", latency.precision},
                        {"target_ms", latency.target_ms},
                        {"constraint", latency.constraint},
                        {"engine", frostnas::to_string(latency.engine)},
                        {"threads", latency.threads}}},
                      {"failure_reward", failure_reward}};
  if (batch != 1) j["batch"] = batch;
  return j;
}

SearchConfig search_config_from_json(const nlohmann::json& j, const std::string& source,
                                     const std::string& base_dir) {
  JsonReader r(j, source);
  r.expect_object({"format", "name", "space", "strategy", "samples", "batch", "seed", "data",
                   "train", "metric", "latency", "failure_reward"});
  const std::string format = r.get_string("format");
  if (format != kSearchConfigFormat) {
    r.fail_at("format", "\"" + format + "\" is not a search configuration (allowed: " +
                            kSearchConfigFormat + ")");
  }
  SearchConfig c;
  c.name = r.get_string_or("name", "search");
  const JsonReader space = r.at("space");
  if (space.value().is_string()) {
    std::filesystem::path p = space.value().get<std::string>();
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    c.space_path = p.lexically_normal().string();
    c.space = load_search_space(c.space_path);
  } else {
    c.space = search_space_from_json(space.value(), source + " ($.space)");
  }

  const JsonReader strategy = r.at("strategy");
  strategy.expect_object({"name", "options"});
  c.strategy = strategy.get_string_in("name", strategy_names());
  if (strategy.has("options")) c.strategy_options = strategy.at("options").value();
  try {
    make_strategy(c.strategy, c.space, 0, c.strategy_options);  // validates the options
  } catch (const InputError& e) {
    strategy.fail_at("options", e.what());
  }
  c.samples = r.get_int("samples", 1, 1000000);
  c.batch = r.get_int_or("batch", 1, 1, 100000);
  c.seed = static_cast<uint64_t>(r.get_int_or("seed", 0, 0, INT64_MAX));

  if (r.has("data")) {
    const JsonReader d = r.at("data");
    d.expect_object({"name", "dir", "train_subset", "val_size"});
    c.data.name = d.get_string_or("name", c.data.name);
    c.data.dir = d.get_string_or("dir", "");
    c.data.train_subset = d.get_int_or("train_subset", 0, 0, INT64_MAX);
    c.data.val_size = d.get_int_or("val_size", c.data.val_size, 1, INT64_MAX);
  }
  if (r.has("train"))
    c.train = train_config_from_json(r.at("train").value(), source + " ($.train)");
  validate(c.train);
  if (r.has("metric"))
    c.metric = parse_accuracy_metric(r.get_string("metric"), source + ": $.metric");

  if (r.has("latency")) {
    const JsonReader l = r.at("latency");
    l.expect_object({"source", "precision", "target_ms", "constraint", "engine", "threads"});
    c.latency.source = l.has("source") ? l.get_string_in("source", {"table", "macs"}) : "table";
    c.latency.precision =
        l.has("precision") ? l.get_string_in("precision", {"int8", "fp32"}) : "int8";
    c.latency.target_ms = l.get_double("target_ms", 0.0, 1e9, /*lo_open=*/true);
    c.latency.constraint =
        l.has("constraint") ? l.get_string_in("constraint", {"soft", "hard"}) : "soft";
    if (l.has("engine")) {
      c.latency.engine = parse_quant_engine(l.get_string("engine"), source + ": $.latency.engine");
    }
    c.latency.threads = l.get_int_or("threads", 1, 1, 256);
  }
  c.failure_reward = r.get_double_or("failure_reward", 0.0, -1e9, 1e9);
  return c;
}

SearchConfig load_search_config(const std::string& path) {
  const std::string base = std::filesystem::path(path).parent_path().string();
  return search_config_from_json(load_json_file(path), path, base.empty() ? "." : base);
}

}  // namespace frostnas
