#pragma once

#include <cstdint>
#include <memory>

#include "space/genotype.h"
#include "space/net_spec.h"

namespace frostnas::testing {

/// A `cell` block carrying genotype `g` (the other fields as in BlockSpec).
inline BlockSpec cell_spec(const Genotype& g, int64_t kernel, int64_t out, int64_t ef, int64_t rf,
                           int64_t stride) {
  BlockSpec b{BlockType::kCell, kernel, out, ef, rf, stride};
  b.cell = std::make_shared<const Genotype>(g);
  return b;
}

/// Every genotype op once, 4 nodes, with the given join.
inline Genotype all_ops_genotype(CellJoin join) {
  Genotype g;
  g.name = "all";
  g.join = join;
  g.nodes = {{CellEdge{0, "conv_1x1"}},
             {CellEdge{0, "dwconv_3x3"}, CellEdge{1, "dwconv_5x5"}},
             {CellEdge{0, "max_pool_3x3"}, CellEdge{1, "se"}, CellEdge{2, "avg_pool_3x3"}},
             {CellEdge{3, "skip"}}};
  return g;
}

}  // namespace frostnas::testing
