#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frostnas {

/// The "format" field of a cell genotype file.
constexpr const char* kCellFormat = "frostnas.cell/1";

/// Candidate operations of a searched cell, in registry order (docs/frostnet.md, "P-DARTS
/// cell search"). Every op maps [N, c, H, W] -> [N, c, H, W] at stride 1:
/// - "none": zero (search only; never part of a derived genotype);
/// - "skip": identity;
/// - "conv_1x1": ConvBNReLU(c -> c, 1x1);
/// - "dwconv_3x3", "dwconv_5x5": depthwise ConvBNReLU(c -> c, k x k);
/// - "max_pool_3x3": max pool 3x3, stride 1, padding 1;
/// - "se": x * sigmoid(conv(relu(conv(avgpool(x))))) with max(8, c / 4) hidden channels
///   (the squeeze-and-excitation gate the search should learn to avoid);
/// - "avg_pool_3x3": average pool 3x3, stride 1, padding 1, padding not counted.
const std::vector<std::string>& cell_op_names();
/// cell_op_names() without "none": the ops a genotype may name.
const std::vector<std::string>& genotype_op_names();

/// How the cell output joins the bottleneck.
/// - kConcat: x' = cat(cell(x), x), n = c + C_in channels, with the cell width
///   c = make_divisible(C_in / RF) (at least 8): the Frost squeeze-and-concatenate
///   branch is the genotype {node 1 = skip(input)} with join concat.
/// - kSum: x' = x + cell(x), n = C_in, with c = C_in.
enum class CellJoin { kConcat, kSum };
std::string to_string(CellJoin join);
/// Allowed names: "concat", "sum".
std::vector<std::string> cell_join_names();

/// One edge of the derived cell: `op` applied to node `input` (0 = the cell input,
/// i >= 1 = intermediate node i).
struct CellEdge {
  int64_t input = 0;
  std::string op = "skip";
  bool operator==(const CellEdge& o) const { return input == o.input && op == o.op; }
};

/// A derived cell (the result of a cell search), a plain value type.
/// The cell runs at width c (see CellJoin). Node 0 is the block input after the
/// cell's entry projection `ConvBNReLU(C_in -> c, 1x1)` (present only when c != C_in;
/// with join concat it is the Frost squeeze). Intermediate node i (1-based) is the sum
/// of its edges, each reading an earlier node; the cell output is the sum of all
/// intermediate nodes (no concatenation inside the cell, as in FrostNet).
struct Genotype {
  std::string name = "cell";
  CellJoin join = CellJoin::kConcat;
  std::vector<std::vector<CellEdge>> nodes;  ///< nodes[i - 1] = incoming edges of node i

  bool operator==(const Genotype& o) const { return join == o.join && nodes == o.nodes; }
  bool operator!=(const Genotype& o) const { return !(*this == o); }
};

/// Width of the cell of a block with `in_channels` inputs and reduction factor `rf`:
/// make_divisible(in_channels / rf) for kConcat, in_channels for kSum.
int64_t cell_channels(CellJoin join, int64_t in_channels, int64_t rf);

/// `{"format": "frostnas.cell/1", "name", "join", "nodes": [[{"input", "op"}, ...], ...]}`.
nlohmann::json to_json(const Genotype& g);
/// Parses and validates a genotype: at least one node, every node at least one edge,
/// inputs in [0, i - 1] without repeats within a node, ops from genotype_op_names().
/// `source` names the input in errors; `path` is the JSON path of the object.
Genotype genotype_from_json(const nlohmann::json& j, const std::string& source,
                            const std::string& path = "$");
Genotype load_genotype(const std::string& path);
/// Writes a genotype file atomically.
void save_genotype(const Genotype& g, const std::string& path);

/// A canonical one-line form without the name, e.g. `concat|1:0.skip|2:0.dwconv_3x3+1.skip`,
/// used in latency keys and hashes.
std::string canonical_string(const Genotype& g);

/// The Frost squeeze-and-concatenate branch as a genotype: one node, skip(input),
/// join concat (the entry projection is the squeeze).
Genotype frost_genotype();

}  // namespace frostnas
