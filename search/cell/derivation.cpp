#include "search/cell/derivation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <stdexcept>

#include "common/json_reader.h"

namespace frostnas {

int64_t cell_edge_count(int64_t nodes) { return nodes * (nodes + 1) / 2; }

std::vector<CellEdgeSlot> cell_edge_slots(int64_t nodes) {
  std::vector<CellEdgeSlot> edges;
  for (int64_t i = 1; i <= nodes; ++i)
    for (int64_t j = 0; j < i; ++j) edges.push_back({j, i});
  return edges;
}

std::string to_string(const CellEdgeSlot& edge) {
  return std::to_string(edge.from) + "->" + std::to_string(edge.to);
}

void check_arch_weights(const ArchWeights& w) {
  const auto fail = [](const std::string& m) { throw std::invalid_argument("ArchWeights: " + m); };
  if (w.nodes < 1) fail("nodes must be >= 1");
  const size_t edges = static_cast<size_t>(cell_edge_count(w.nodes));
  if (w.ops.size() != edges || w.weights.size() != edges)
    fail("expected " + std::to_string(edges) + " edges for " + std::to_string(w.nodes) + " nodes");
  for (size_t e = 0; e < edges; ++e) {
    if (w.ops[e].empty()) fail("edge " + std::to_string(e) + " has no ops");
    if (w.ops[e].size() != w.ops[0].size()) fail("edges hold different numbers of ops");
    if (w.weights[e].size() != w.ops[e].size())
      fail("edge " + std::to_string(e) + ": one weight per op expected");
    std::set<std::string> seen(w.ops[e].begin(), w.ops[e].end());
    if (seen.size() != w.ops[e].size()) fail("edge " + std::to_string(e) + " repeats an op");
  }
}

ArchWeights arch_weights_from_alphas(int64_t nodes,
                                     const std::vector<std::vector<std::string>>& ops,
                                     const torch::Tensor& alphas) {
  TORCH_CHECK(alphas.dim() == 2 && alphas.size(0) == static_cast<int64_t>(ops.size()) &&
                  alphas.size(0) == cell_edge_count(nodes),
              "arch_weights_from_alphas: alphas [", cell_edge_count(nodes), ", K] expected, got ",
              alphas.sizes());
  const torch::Tensor p = torch::softmax(alphas.detach().to(torch::kCPU, torch::kDouble), -1);
  ArchWeights w;
  w.nodes = nodes;
  w.ops = ops;
  const auto a = p.accessor<double, 2>();
  for (int64_t e = 0; e < p.size(0); ++e) {
    TORCH_CHECK(static_cast<int64_t>(ops[e].size()) == p.size(1), "arch_weights_from_alphas: edge ",
                e, " has ", ops[e].size(), " ops, alphas ", p.size(1));
    std::vector<double> row;
    for (int64_t k = 0; k < p.size(1); ++k) row.push_back(a[e][k]);
    w.weights.push_back(std::move(row));
  }
  return w;
}

nlohmann::json to_json(const ArchWeights& w) {
  nlohmann::json edges = nlohmann::json::array();
  const auto slots = cell_edge_slots(w.nodes);
  for (size_t e = 0; e < w.ops.size() && e < slots.size(); ++e) {
    edges.push_back({{"from", slots[e].from},
                     {"to", slots[e].to},
                     {"ops", w.ops[e]},
                     {"weights", w.weights[e]}});
  }
  return {{"nodes", w.nodes}, {"edges", edges}};
}

ArchWeights arch_weights_from_json(const nlohmann::json& j, const std::string& source) {
  JsonReader r(j, source);
  r.expect_object({"nodes", "edges"});
  ArchWeights w;
  w.nodes = r.get_int("nodes", 1, 64);
  const JsonReader edges = r.at("edges");
  edges.expect_array();
  const auto slots = cell_edge_slots(w.nodes);
  if (edges.size() != slots.size())
    edges.fail("expected " + std::to_string(slots.size()) + " edges, got " +
               std::to_string(edges.size()));
  for (size_t e = 0; e < edges.size(); ++e) {
    const JsonReader edge = edges.at(e);
    edge.expect_object({"from", "to", "ops", "weights"});
    if (edge.get_int("from", 0, w.nodes) != slots[e].from ||
        edge.get_int("to", 1, w.nodes) != slots[e].to)
      edge.fail("expected edge " + to_string(slots[e]));
    try {
      w.ops.push_back(edge.at("ops").value().get<std::vector<std::string>>());
      w.weights.push_back(edge.at("weights").value().get<std::vector<double>>());
    } catch (const nlohmann::json::exception&) {
      edge.fail("ops must be strings and weights numbers");
    }
  }
  try {
    check_arch_weights(w);
  } catch (const std::invalid_argument& e) {
    r.fail(e.what());
  }
  return w;
}

std::string format_arch_weights(const ArchWeights& w) {
  std::vector<std::string> columns;
  for (const auto& name : cell_op_names()) {
    for (const auto& ops : w.ops) {
      if (std::find(ops.begin(), ops.end(), name) != ops.end()) {
        columns.push_back(name);
        break;
      }
    }
  }
  std::vector<size_t> widths;
  for (const auto& c : columns) widths.push_back(std::max<size_t>(c.size(), 6));
  std::string out = "edge  ";
  for (size_t k = 0; k < columns.size(); ++k)
    out += " " + std::string(widths[k] - columns[k].size(), ' ') + columns[k] + " ";
  out += "\n";
  const auto slots = cell_edge_slots(w.nodes);
  for (size_t e = 0; e < w.ops.size() && e < slots.size(); ++e) {
    std::string label = to_string(slots[e]);
    out += label + std::string(label.size() < 6 ? 6 - label.size() : 0, ' ');
    size_t best = 0;
    for (size_t k = 1; k < w.weights[e].size(); ++k)
      if (w.weights[e][k] > w.weights[e][best]) best = k;
    for (size_t c = 0; c < columns.size(); ++c) {
      std::string cell = "-";
      for (size_t k = 0; k < w.ops[e].size(); ++k) {
        if (w.ops[e][k] != columns[c]) continue;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f%s", w.weights[e][k], k == best ? "*" : " ");
        cell = buf;
      }
      if (cell == "-") cell = "- ";
      out += " " + std::string(widths[c] + 1 > cell.size() ? widths[c] + 1 - cell.size() : 0, ' ') +
             cell;
    }
    out += "\n";
  }
  return out;
}

std::vector<EdgeMargin> edge_margins(const ArchWeights& w) {
  std::vector<EdgeMargin> out;
  for (size_t e = 0; e < w.weights.size(); ++e) {
    const auto& v = w.weights[e];
    EdgeMargin m;
    if (v.empty()) {
      out.push_back(m);
      continue;
    }
    size_t best = 0;
    for (size_t k = 1; k < v.size(); ++k)
      if (v[k] > v[best]) best = k;
    double second = 0;
    double entropy = 0;
    for (size_t k = 0; k < v.size(); ++k) {
      if (k != best) second = std::max(second, v[k]);
      if (v[k] > 0) entropy -= v[k] * std::log(v[k]);
    }
    m.top_op = w.ops[e][best];
    m.top_weight = v[best];
    m.over_uniform = v[best] - 1.0 / static_cast<double>(v.size());
    m.over_runner_up = v.size() > 1 ? v[best] - second : 0.0;
    m.normalized_entropy = v.size() > 1 ? entropy / std::log(static_cast<double>(v.size())) : 0.0;
    out.push_back(m);
  }
  return out;
}

std::string format_edge_margins(const ArchWeights& w) {
  const auto slots = cell_edge_slots(w.nodes);
  const auto margins = edge_margins(w);
  std::string out = "edge   strongest      weight  -uniform  -runner-up  entropy/logK\n";
  for (size_t e = 0; e < margins.size() && e < slots.size(); ++e) {
    const EdgeMargin& m = margins[e];
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-6s %-14s %6.3f  %+8.3f  %+10.3f  %12.3f\n",
                  to_string(slots[e]).c_str(), m.top_op.c_str(), m.top_weight, m.over_uniform,
                  m.over_runner_up, m.normalized_entropy);
    out += buf;
  }
  return out;
}

bool DerivationEvidence::decided() const { return undecided_count() == 0; }

int64_t DerivationEvidence::undecided_count() const {
  return std::count_if(edges.begin(), edges.end(),
                       [](const DerivedEdgeEvidence& e) { return !e.decided; });
}

DerivationEvidence assess_derivation(const ArchWeights& w, const Genotype& g,
                                     double decided_margin) {
  check_arch_weights(w);
  DerivationEvidence out;
  out.decided_margin = decided_margin;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const auto node = static_cast<int64_t>(n + 1);
    if (node > w.nodes)
      throw std::invalid_argument("assess_derivation: the weights have no node " +
                                  std::to_string(node));
    for (const CellEdge& edge : g.nodes[n]) {
      const std::string name = std::to_string(edge.input) + "->" + std::to_string(node);
      if (edge.input < 0 || edge.input >= node)
        throw std::invalid_argument("assess_derivation: no edge " + name);
      const auto e = static_cast<size_t>(node * (node - 1) / 2 + edge.input);
      const auto& ops = w.ops[e];
      const auto it = std::find(ops.begin(), ops.end(), edge.op);
      if (it == ops.end())
        throw std::invalid_argument("assess_derivation: edge " + name + " offers no " + edge.op);
      DerivedEdgeEvidence d;
      d.node = node;
      d.input = edge.input;
      d.op = edge.op;
      const double weight = w.weights[e][static_cast<size_t>(it - ops.begin())];
      double rival = 0;
      for (size_t k = 0; k < ops.size(); ++k) {
        if (ops[k] == edge.op || ops[k] == "none") continue;
        if (d.runner_up.empty() || w.weights[e][k] > rival) {
          d.runner_up = ops[k];
          rival = w.weights[e][k];
        }
      }
      d.margin = weight - rival;
      d.decided = d.margin >= decided_margin;
      out.edges.push_back(std::move(d));
    }
  }
  return out;
}

nlohmann::json to_json(const DerivationEvidence& e) {
  nlohmann::json edges = nlohmann::json::array();
  for (const auto& d : e.edges) {
    edges.push_back({{"node", d.node},
                     {"input", d.input},
                     {"op", d.op},
                     {"runner_up", d.runner_up},
                     {"margin", d.margin},
                     {"decided", d.decided}});
  }
  return {{"decided_margin", e.decided_margin}, {"decided", e.decided()}, {"edges", edges}};
}

DerivationEvidence derivation_evidence_from_json(const nlohmann::json& j,
                                                 const std::string& source) {
  JsonReader r(j, source);
  r.expect_object({"decided_margin", "decided", "edges"});
  DerivationEvidence out;
  out.decided_margin = r.get_double("decided_margin", 0.0, 1.0);
  const JsonReader edges = r.at("edges");
  edges.expect_array(true);
  for (size_t i = 0; i < edges.size(); ++i) {
    const JsonReader edge = edges.at(i);
    edge.expect_object({"node", "input", "op", "runner_up", "margin", "decided"});
    DerivedEdgeEvidence d;
    d.node = edge.get_int("node", 1, 64);
    d.input = edge.get_int("input", 0, d.node - 1);
    d.op = edge.get_string("op");
    d.runner_up = edge.get_string_or("runner_up", "");
    d.margin = edge.get_double("margin", -1.0, 1.0);
    d.decided = d.margin >= out.decided_margin;
    out.edges.push_back(std::move(d));
  }
  return out;
}

std::string describe_derivation(const DerivationEvidence& e) {
  char margin[32];
  std::snprintf(margin, sizeof margin, "%.3f", e.decided_margin);
  if (e.decided()) {
    return "decided: every derived edge clears the margin (>= " + std::string(margin) +
           " over the runner-up op)";
  }
  std::string which;
  for (const auto& d : e.edges) {
    if (d.decided) continue;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s%lld->%lld %s %+.3f", which.empty() ? "" : ", ",
                  static_cast<long long>(d.input), static_cast<long long>(d.node), d.op.c_str(),
                  d.margin);
    which += buf;
  }
  return "UNDECIDED: " + std::to_string(e.undecided_count()) + " of " +
         std::to_string(e.edges.size()) +
         " derived edges are within the seed-to-seed spread (margin < " + margin + ": " + which +
         "); this genotype is not a finding: run more seeds or a longer search";
}

std::vector<std::vector<std::string>> prune_edge_ops(const ArchWeights& w, int64_t keep,
                                                     bool drop_none_first) {
  check_arch_weights(w);
  if (keep < 1) throw std::invalid_argument("prune_edge_ops: keep must be >= 1");
  std::vector<std::vector<std::string>> out;
  for (size_t e = 0; e < w.ops.size(); ++e) {
    std::vector<size_t> idx;
    for (size_t k = 0; k < w.ops[e].size(); ++k)
      if (!(drop_none_first && w.ops[e][k] == "none")) idx.push_back(k);
    // Largest weight first; stable sort keeps the earlier op on ties.
    std::stable_sort(idx.begin(), idx.end(),
                     [&](size_t a, size_t b) { return w.weights[e][a] > w.weights[e][b]; });
    if (static_cast<int64_t>(idx.size()) > keep) idx.resize(static_cast<size_t>(keep));
    std::sort(idx.begin(), idx.end());
    std::vector<std::string> ops;
    for (size_t k : idx) ops.push_back(w.ops[e][k]);
    out.push_back(std::move(ops));
  }
  return out;
}

namespace {

using Banned = std::set<std::pair<size_t, size_t>>;  // (edge, op index)

/// Best non-"none", non-banned op of edge `e`: its index, or -1 when none is left.
int64_t best_op(const ArchWeights& w, size_t e, const Banned& banned) {
  int64_t best = -1;
  for (size_t k = 0; k < w.ops[e].size(); ++k) {
    if (w.ops[e][k] == "none" || banned.count({e, k})) continue;
    if (best < 0 || w.weights[e][k] > w.weights[e][static_cast<size_t>(best)])
      best = static_cast<int64_t>(k);
  }
  return best;
}

struct Chosen {
  size_t edge;
  size_t op;
};

Genotype derive(const ArchWeights& w, CellJoin join, const Banned& banned,
                std::vector<Chosen>* chosen) {
  Genotype g;
  g.join = join;
  for (int64_t i = 1; i <= w.nodes; ++i) {
    struct Candidate {
      int64_t from;
      size_t edge;
      size_t op;
      double strength;
    };
    std::vector<Candidate> cands;
    for (int64_t j = 0; j < i; ++j) {
      const size_t e = static_cast<size_t>(i * (i - 1) / 2 + j);
      const int64_t k = best_op(w, e, banned);
      if (k < 0) continue;
      cands.push_back({j, e, static_cast<size_t>(k), w.weights[e][static_cast<size_t>(k)]});
    }
    if (cands.empty())
      throw std::invalid_argument("derive_genotype: node " + std::to_string(i) +
                                  " has no incoming edge with a non-none op");
    // Strongest first; stable sort keeps the lower source on ties.
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      return a.strength > b.strength;
    });
    const size_t keep =
        std::min<size_t>(static_cast<size_t>(std::min<int64_t>(i, 2)), cands.size());
    cands.resize(keep);
    std::sort(cands.begin(), cands.end(),
              [](const Candidate& a, const Candidate& b) { return a.from < b.from; });
    std::vector<CellEdge> edges;
    for (const auto& c : cands) {
      edges.push_back(CellEdge{c.from, w.ops[c.edge][c.op]});
      if (chosen) chosen->push_back({c.edge, c.op});
    }
    g.nodes.push_back(std::move(edges));
  }
  return g;
}

}  // namespace

Genotype derive_genotype_uncapped(const ArchWeights& w, CellJoin join) {
  check_arch_weights(w);
  return derive(w, join, {}, nullptr);
}

int64_t count_skips(const Genotype& g) {
  int64_t n = 0;
  for (const auto& node : g.nodes)
    for (const auto& e : node) n += e.op == "skip" ? 1 : 0;
  return n;
}

Genotype derive_genotype(const ArchWeights& w, CellJoin join, int64_t max_skip,
                         std::vector<CellEdgeSlot>* removed) {
  check_arch_weights(w);
  const auto slots = cell_edge_slots(w.nodes);
  Banned banned;
  while (true) {
    std::vector<Chosen> chosen;
    Genotype g = derive(w, join, banned, &chosen);
    int64_t skips = 0;
    int64_t weakest = -1;  // index into chosen
    for (size_t c = 0; c < chosen.size(); ++c) {
      const Chosen& ch = chosen[c];
      if (w.ops[ch.edge][ch.op] != "skip") continue;
      ++skips;
      // Removable only if the edge keeps another candidate.
      Banned trial = banned;
      trial.insert({ch.edge, ch.op});
      if (best_op(w, ch.edge, trial) < 0) continue;
      if (weakest < 0) {
        weakest = static_cast<int64_t>(c);
        continue;
      }
      const Chosen& cur = chosen[static_cast<size_t>(weakest)];
      const double a = w.weights[ch.edge][ch.op];
      const double b = w.weights[cur.edge][cur.op];
      if (a < b || (a == b && ch.edge > cur.edge)) weakest = static_cast<int64_t>(c);
    }
    if (skips <= max_skip || weakest < 0) return g;
    const Chosen& drop = chosen[static_cast<size_t>(weakest)];
    banned.insert({drop.edge, drop.op});
    if (removed) removed->push_back(slots[drop.edge]);
  }
}

}  // namespace frostnas
