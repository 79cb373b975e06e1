#include "space/genotype.h"

#include <algorithm>
#include <set>

#include "common/json_reader.h"
#include "space/channels.h"

namespace frostnas {

const std::vector<std::string>& cell_op_names() {
  static const std::vector<std::string> names{
      "none", "skip", "conv_1x1", "dwconv_3x3", "dwconv_5x5", "max_pool_3x3", "se", "avg_pool_3x3"};
  return names;
}

const std::vector<std::string>& genotype_op_names() {
  static const std::vector<std::string> names(cell_op_names().begin() + 1, cell_op_names().end());
  return names;
}

std::string to_string(CellJoin join) { return join == CellJoin::kConcat ? "concat" : "sum"; }

std::vector<std::string> cell_join_names() { return {"concat", "sum"}; }

int64_t cell_channels(CellJoin join, int64_t in_channels, int64_t rf) {
  if (join == CellJoin::kSum) return in_channels;
  return make_divisible(static_cast<double>(in_channels / std::max<int64_t>(rf, 1)));
}

nlohmann::json to_json(const Genotype& g) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& node : g.nodes) {
    nlohmann::json edges = nlohmann::json::array();
    for (const auto& e : node) edges.push_back({{"input", e.input}, {"op", e.op}});
    nodes.push_back(edges);
  }
  return {{"format", kCellFormat}, {"name", g.name}, {"join", to_string(g.join)}, {"nodes", nodes}};
}

Genotype genotype_from_json(const nlohmann::json& j, const std::string& source,
                            const std::string& path) {
  JsonReader r(j, source, path);
  r.expect_object({"format", "name", "join", "nodes"});
  if (r.has("format")) {
    const std::string format = r.get_string("format");
    if (format != kCellFormat)
      r.fail_at("format", "unknown format '" + format + "' (allowed: " + kCellFormat + ")");
  }
  Genotype g;
  g.name = r.get_string_or("name", "cell");
  g.join =
      r.get_string_in("join", cell_join_names()) == "concat" ? CellJoin::kConcat : CellJoin::kSum;
  const JsonReader nodes = r.at("nodes");
  nodes.expect_array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const JsonReader node = nodes.at(i);
    node.expect_array();
    std::vector<CellEdge> edges;
    std::set<int64_t> inputs;
    for (size_t k = 0; k < node.size(); ++k) {
      const JsonReader edge = node.at(k);
      edge.expect_object({"input", "op"});
      CellEdge e;
      e.input = edge.get_int("input", 0, static_cast<int64_t>(i));
      e.op = edge.get_string_in("op", genotype_op_names());
      if (!inputs.insert(e.input).second)
        edge.fail_at("input", "node " + std::to_string(i + 1) + " reads node " +
                                  std::to_string(e.input) + " twice (one edge per input)");
      edges.push_back(e);
    }
    g.nodes.push_back(std::move(edges));
  }
  return g;
}

Genotype load_genotype(const std::string& path) {
  return genotype_from_json(load_json_file(path), path);
}

void save_genotype(const Genotype& g, const std::string& path) { save_json_file(to_json(g), path); }

std::string canonical_string(const Genotype& g) {
  std::string s = to_string(g.join);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    s += "|" + std::to_string(i + 1) + ":";
    std::vector<CellEdge> edges = g.nodes[i];
    std::sort(edges.begin(), edges.end(),
              [](const CellEdge& a, const CellEdge& b) { return a.input < b.input; });
    for (size_t k = 0; k < edges.size(); ++k)
      s += (k ? "+" : "") + std::to_string(edges[k].input) + "." + edges[k].op;
  }
  return s;
}

Genotype frost_genotype() {
  Genotype g;
  g.name = "frost";
  g.join = CellJoin::kConcat;
  g.nodes = {{CellEdge{0, "skip"}}};
  return g;
}

}  // namespace frostnas
