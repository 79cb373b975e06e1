#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "space/genotype.h"

namespace frostnas {

/// One edge of the searched cell DAG: node `from` (0 = the cell input) feeds
/// intermediate node `to` (1-based, from < to).
struct CellEdgeSlot {
  int64_t from = 0;
  int64_t to = 1;
  bool operator==(const CellEdgeSlot& o) const { return from == o.from && to == o.to; }
};

/// Number of edges of a cell with `nodes` intermediate nodes: nodes (nodes + 1) / 2.
int64_t cell_edge_count(int64_t nodes);
/// The edges ordered by target node, then source: (0->1), (0->2), (1->2), (0->3), ...;
/// edge (j -> i) has index i (i - 1) / 2 + j.
std::vector<CellEdgeSlot> cell_edge_slots(int64_t nodes);
/// "0->1", "1->3", ...
std::string to_string(const CellEdgeSlot& edge);

/// Softmaxed architecture weights of a cell: per edge (cell_edge_slots order) its
/// candidate ops and their weights, in the same order. Edges may hold different op
/// lists (after pruning) of equal length.
struct ArchWeights {
  int64_t nodes = 0;
  std::vector<std::vector<std::string>> ops;  ///< [edges][K]
  std::vector<std::vector<double>> weights;   ///< [edges][K]
  bool operator==(const ArchWeights& o) const {
    return nodes == o.nodes && ops == o.ops && weights == o.weights;
  }
};

/// Softmax over the last dimension of architecture parameters alpha [edges, K].
ArchWeights arch_weights_from_alphas(int64_t nodes,
                                     const std::vector<std::vector<std::string>>& ops,
                                     const torch::Tensor& alphas);
/// `{"nodes": N, "edges": [{"from", "to", "ops": [...], "weights": [...]}, ...]}`.
nlohmann::json to_json(const ArchWeights& w);
/// Parses what to_json wrote; throws InputError naming `source` and the field.
ArchWeights arch_weights_from_json(const nlohmann::json& j, const std::string& source);
/// A text table of the weights: one row per edge ("0->1"), one column per op of
/// cell_op_names() present on some edge, "-" where an edge no longer has the op; the
/// largest weight of each row is marked with '*'. Ends with a newline.
std::string format_arch_weights(const ArchWeights& w);
/// How far a search has decided one edge: the strongest op, its weight's margin over the
/// uniform weight 1/K and over the runner-up, and the entropy of the edge's weights divided
/// by log K (1: uniform, 0: one op holds all the weight). K = 1 gives margins of 0 and
/// entropy 0.
struct EdgeMargin {
  std::string top_op;
  double top_weight = 0;
  double over_uniform = 0;
  double over_runner_up = 0;
  double normalized_entropy = 1;
};

/// The margins of every edge, in cell_edge_slots order.
std::vector<EdgeMargin> edge_margins(const ArchWeights& w);
/// A text table of edge_margins: one row per edge ("0->1  se  0.412  +0.287  +0.102  0.71"),
/// with a header; ends with a newline.
std::string format_edge_margins(const ArchWeights& w);

/// The margin over the runner-up that a derived edge's op needs to count as decided by
/// default: 1.96 x sqrt(2) x the seed-to-seed standard deviation of the op weights at the end
/// of the example search's last stage (3 ops per edge), 0.219-0.226 over 8 seeds, rounded
/// (docs/results.md, "Cell search: when an edge is decided"). A smaller margin is within
/// what seed-to-seed noise gives two equally good ops.
constexpr double kDecidedMargin = 0.22;

/// The evidence behind one edge of a derived genotype.
struct DerivedEdgeEvidence {
  int64_t node = 1;       ///< intermediate node (1-based)
  int64_t input = 0;      ///< the node it reads
  std::string op;         ///< the derived op
  std::string runner_up;  ///< the strongest other non-"none" op of the edge ("" if none)
  double margin = 0;      ///< op's weight minus runner_up's (the weight itself without one)
  bool decided = false;   ///< margin >= the threshold
};

/// Which edges of a derived genotype its search decided, by the margin of each derived op
/// over the runner-up on its edge. Stored beside the genotype (the genotype file format
/// has no place for it).
struct DerivationEvidence {
  double decided_margin = kDecidedMargin;  ///< the threshold used
  std::vector<DerivedEdgeEvidence> edges;  ///< genotype order: by node, then input

  /// True when every derived edge is decided.
  bool decided() const;
  int64_t undecided_count() const;
};

/// The evidence of `g` (derived from `w`, e.g. by derive_genotype): per derived edge the
/// margin of its op over the strongest other non-"none" op of that edge in `w` ("none" is
/// never derived), decided when the margin is at least `decided_margin`. A derived op that
/// is not the edge's strongest (the skip cap removed it) has a negative margin. Throws
/// std::invalid_argument when `g` has an edge or op that `w` does not offer.
DerivationEvidence assess_derivation(const ArchWeights& w, const Genotype& g,
                                     double decided_margin = kDecidedMargin);
/// `{"decided_margin", "decided", "edges": [{"node", "input", "op", "runner_up", "margin",
/// "decided"}, ...]}`.
nlohmann::json to_json(const DerivationEvidence& e);
/// Parses what to_json wrote ("decided" is recomputed); throws InputError naming `source`.
DerivationEvidence derivation_evidence_from_json(const nlohmann::json& j,
                                                 const std::string& source);
/// One line for people: "decided: every derived edge clears the margin (>= 0.xxx over the
/// runner-up)" or "UNDECIDED: 3 of 6 derived edges are within the seed-to-seed spread
/// (margin < 0.xxx): ...; this genotype is not a finding - run more seeds or a longer search".
std::string describe_derivation(const DerivationEvidence& e);

/// Throws std::invalid_argument unless the shapes agree with `nodes` (edge count, one
/// weight per op, K equal on every edge, no repeated op on an edge).
void check_arch_weights(const ArchWeights& w);

/// P-DARTS pruning after a stage: per edge keep the `keep` ops of largest weight, in the
/// order they had on the edge; ties go to the op listed first. With `drop_none_first`
/// (the pruning that produces the last stage) "none" is removed before ranking.
/// Returns the new op lists [edges][min(keep, available)].
std::vector<std::vector<std::string>> prune_edge_ops(const ArchWeights& w, int64_t keep,
                                                     bool drop_none_first);

/// DARTS derivation without the skip cap: for node i the min(2, i) incoming edges with the
/// largest non-"none" weight are kept (ties: the lower source node), each with its
/// argmax non-"none" op (ties: the op listed first). Edges of a node are ordered by input.
/// Throws std::invalid_argument when a node has no edge with a non-"none" op.
Genotype derive_genotype_uncapped(const ArchWeights& w, CellJoin join);

/// Number of edges of `g` whose op is "skip".
int64_t count_skips(const Genotype& g);

/// DARTS derivation followed by the P-DARTS cap on skip connections, rule implemented:
/// while the derived genotype has more than `max_skip` skip edges, take the derived skip
/// edge whose "skip" weight is smallest (ties: the higher edge index, i.e. the later
/// node), remove "skip" from that edge's candidates and derive again from scratch (the
/// edge then competes with its next-best non-"none" op, so its node may also choose
/// another incoming edge). A skip is only removed from an edge that keeps another
/// non-"none" op; when no derived skip edge qualifies the loop stops with more than
/// `max_skip` skips. (P-DARTS zeroes the smallest skip probability over all edges,
/// derived or not; removing only derived skips reaches the same cap in fewer rounds.)
/// `removed`, if given, receives the edges whose skip was removed, in order.
Genotype derive_genotype(const ArchWeights& w, CellJoin join, int64_t max_skip,
                         std::vector<CellEdgeSlot>* removed = nullptr);

}  // namespace frostnas
