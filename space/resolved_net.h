#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "space/net_spec.h"

namespace frostnas {

/// One convolution of a network with every shape fixed (square feature maps).
/// Weight: [out, in / groups, kernel, kernel].
struct ConvLayer {
  std::string role;  ///< "stem", "squeeze", "expand", "depthwise", "project", "head", "classifier"
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
enum class BlockKind { kFrost, kMBConv, kDepthwise };
std::string to_string(BlockKind kind);

/// A block with its input and output shapes and its convolutions.
struct ResolvedBlock {
  BlockSpec spec;
  BlockKind kind = BlockKind::kFrost;
  int stage = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t squeeze_channels = 0;  ///< r, 0 without a squeeze branch
  int64_t mid_channels = 0;      ///< n = r + C_in (or C_in)
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
