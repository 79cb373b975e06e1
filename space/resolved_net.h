#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "space/net_spec.h"

namespace frostnas {

/// One convolution of a network with every shape fixed (square feature maps).
/// Weight: [out, in / groups, kernel, kernel].
struct ConvLayer {
  /// "stem", "squeeze", "expand", "depthwise", "project", "head", "classifier"; in cell
  /// blocks "cell.pre" (entry projection) and "cell.n<i>.e<k>.<op role>" (edge k of node i).
  std::string role;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t groups = 1;
  int64_t in_size = 0;   ///< input H = W
  int64_t out_size = 0;  ///< output H = W
  bool batch_norm = true;
  bool relu = true;
  bool bias = false;

  int64_t padding() const { return (kernel - 1) / 2; }
  int64_t params() const;  ///< weights, bias, BN affine
  int64_t macs() const;    ///< multiply-accumulates of one image
};

/// What a block really is once its input is known.
/// - kFrost: squeeze-and-concatenate branch + expansion (the "CAS" block);
/// - kMBConv: expansion without the squeeze branch (RF fallback or BlockType::kMBConv);
/// - kDepthwise: EF = 1, depthwise + projection only.
/// - kCell: a searched cell (spec.cell) in the place of the squeeze branch + expansion.
enum class BlockKind { kFrost, kMBConv, kDepthwise, kCell };
std::string to_string(BlockKind kind);

/// A block with its input and output shapes and its convolutions.
struct ResolvedBlock {
  BlockSpec spec;
  BlockKind kind = BlockKind::kFrost;
  int stage = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t squeeze_channels = 0;  ///< r, 0 without a squeeze branch (and for kCell)
  int64_t cell_channels = 0;     ///< kCell: the cell width c (see Genotype), else 0
  int64_t mid_channels = 0;      ///< n = r + C_in, c + C_in (cell concat) or C_in
  int64_t hidden_channels = 0;   ///< n * EF
  int64_t in_size = 0;
  int64_t out_size = 0;
  bool residual = false;
  std::vector<ConvLayer> convs;  ///< in execution order

  int64_t params() const;
  int64_t macs() const;
  /// Canonical key of the block configuration: equal keys build identical
  /// computations (used by the latency table for building and lookup).
  std::string key() const;
};

/// The convolutions of the cell op `op` (space/genotype.h cell_op_names()) at width `c`
/// on a `size` x `size` map, roles without the "cell.n<i>.e<k>." prefix:
/// conv_1x1 / dwconv_3x3 / dwconv_5x5: one ConvBNReLU with the op's name as role;
/// se: "se.reduce" (c -> max(8, c / 4), 1x1 on the pooled 1x1 map, bias, ReLU, no BN) and
/// "se.expand" (back to c, bias, no BN, no ReLU: a sigmoid follows); none, skip and the
/// pools: none. Throws InputError on an unknown op, listing the known ones.
std::vector<ConvLayer> cell_op_convs(const std::string& op, int64_t c, int64_t size);
/// Hidden width of the "se" op: max(8, c / 4).
int64_t se_hidden_channels(int64_t c);

/// Resolves one block given its input channels and size (after width scaling
/// of `spec.out_channels` by `width_mult`). The reference rules live here.
ResolvedBlock resolve_block(const BlockSpec& spec, int64_t in_channels, int64_t in_size,
                            double width_mult);

/// A network with every layer's shape fixed.
struct ResolvedNet {
  NetSpec spec;
  ConvLayer stem;
  std::vector<ResolvedBlock> blocks;
  ConvLayer head;
  ConvLayer classifier;  ///< on the pooled 1x1 map, with bias, no BN

  int64_t params() const;
  int64_t macs() const;
};

/// Walks shapes through the network: the analytic description from the spec
/// alone, with no module built.
ResolvedNet resolve(const NetSpec& net);

}  // namespace frostnas
