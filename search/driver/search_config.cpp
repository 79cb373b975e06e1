#include "search/driver/search_config.h"

#include <filesystem>

#include "common/config_fields.h"
#include "common/json_reader.h"
#include "controllers/strategy.h"

namespace frostnas {

void config_fields(ConfigFields& f, LatencyConfig& l) {
  f.choice("source", l.source, {"table", "macs"});
  f.choice("precision", l.precision, {"int8", "fp32"});
  f.number("target_ms", l.target_ms, NumberRange::open_closed(0.0, 1e9), FieldRule::kRequired);
  f.choice("constraint", l.constraint, {"soft", "hard"});
  f.enumeration("engine", l.engine, parse_quant_engine);
  f.integer("threads", l.threads, 1, 256);
}

namespace {

/// A search configuration and the folder its relative space path resolves against.
struct SearchConfigFile {
  SearchConfigFile() : config(&defaults) {}  // write_config's defaults: a default SearchConfig
  SearchConfigFile(SearchConfig* c, std::string dir) : config(c), base_dir(std::move(dir)) {}
  SearchConfigFile(const SearchConfigFile&) = delete;
  SearchConfigFile& operator=(const SearchConfigFile&) = delete;

  SearchConfig defaults;
  SearchConfig* config = nullptr;
  std::string base_dir;
};

/// "space": the path of a frostnas.space/1 file or the space inline (written inline).
void space_field(ConfigFields& f, SearchConfig& c, const std::string& base_dir) {
  f.custom(
      "space",
      [&c, &base_dir](const JsonReader& r) {
        const JsonReader space = r.at("space");
        if (space.value().is_string()) {
          std::filesystem::path p = space.value().get<std::string>();
          if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
          c.space_path = p.lexically_normal().string();
          c.space = load_search_space(c.space_path);
        } else {
          c.space = search_space_from_json(space.value(), r.source() + " ($.space)");
        }
      },
      [&c] { return to_json(c.space); }, FieldRule::kRequired);
}

/// "strategy": {name, options}, the options checked by building the strategy.
void strategy_field(ConfigFields& f, SearchConfig& c) {
  f.custom(
      "strategy",
      [&c](const JsonReader& r) {
        const JsonReader strategy = r.at("strategy");
        strategy.expect_object({"name", "options"});
        c.strategy = strategy.get_string_in("name", strategy_names());
        if (strategy.has("options")) c.strategy_options = strategy.at("options").value();
        const JsonReader options(c.strategy_options, r.source(), strategy.path() + ".options");
        make_strategy_from_json(c.strategy, c.space, 0, options);
      },
      [&c] {
        return nlohmann::json{{"name", c.strategy}, {"options", c.strategy_options}};
      },
      FieldRule::kRequired);
}

void config_fields(ConfigFields& f, SearchConfigFile& file) {
  SearchConfig& c = *file.config;
  f.format(kSearchConfigFormat, "a search configuration");
  f.text("name", c.name);
  space_field(f, c, file.base_dir);
  strategy_field(f, c);
  f.integer("samples", c.samples, 1, 1000000, FieldRule::kRequired);
  f.integer("batch", c.batch, 1, 100000, FieldRule::kUnlessDefault);
  f.integer("seed", c.seed);
  f.nested("data", c.data);
  validated_train_field(f, "train", c.train);
  f.enumeration("metric", c.metric, parse_accuracy_metric);
  f.nested("latency", c.latency);
  f.number("failure_reward", c.failure_reward, NumberRange::closed(-1e9, 1e9));
}

}  // namespace

nlohmann::json SearchConfig::to_json() const {
  return write_config(SearchConfigFile{const_cast<SearchConfig*>(this), ""});
}

SearchConfig search_config_from_json(const nlohmann::json& j, const std::string& source,
                                     const std::string& base_dir) {
  SearchConfig c;
  SearchConfigFile file{&c, base_dir};
  read_config(JsonReader(j, source), file);
  return c;
}

SearchConfig load_search_config(const std::string& path) {
  const std::string base = std::filesystem::path(path).parent_path().string();
  return search_config_from_json(load_json_file(path), path, base.empty() ? "." : base);
}

DataSplits search_data(const SearchConfig& c) {
  return make_splits(for_network_input(c.data, c.space.input_size, c.space.in_channels), c.seed,
                     /*with_test=*/false, c.name + ": $.data");
}

}  // namespace frostnas
