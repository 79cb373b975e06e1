#pragma once

#include <string>
#include <vector>

#include "space/resolved_net.h"
#include "space/search_space.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// The arithmetic a latency entry was measured in.
/// - kInt8: LibTorch's quantized kernels of the chosen engine (Int8Block / Int8Net);
/// - kFP32: BN folded, channels-last float (FoldedBlock / FoldedNet).
enum class Precision { kInt8, kFP32 };

/// "int8" or "fp32" (the `precision` column of the store's latency table).
std::string to_string(Precision precision);
/// Allowed names: "int8", "fp32".
std::vector<std::string> precision_names();
/// Parses a precision name; throws InputError naming `field` and the allowed names.
Precision parse_precision(const std::string& name, const std::string& field = "precision");

/// The canonical lookup-table keys. The table builder and every lookup go through
/// these functions only, so equal keys always mean identical computations:
/// - block: "block:" + ResolvedBlock::key() (kind, input and output HxC, kernel,
///   stride, hidden and squeeze widths, residual flag);
/// - stem:  "stem:i<C>x<H>:o<C>x<H>:k<k>:s<s>";
/// - head:  "head:i<C>x<H>:h<C>:c<classes>" (head ConvBNReLU + global pool + classifier);
/// - io:    "io:i<C>x<H>:c<classes>" (INT8: quantize the input and dequantize the
///   logits; FP32: the channels-last copy of the input and the flatten);
/// - calibration: "calib:<name>" (coefficients of the fitted correction).
/// The weight scheme is part of every key whose computation has weights (block, stem,
/// head) and of the calibration keys: per-tensor keys end in ":wpt", per-channel keys
/// carry no suffix (tables built before the scheme existed read as per channel). The
/// precision is not part of the string: it is the entry's second key column.
std::string block_lut_key(const ResolvedBlock& block,
                          WeightQuant weights = WeightQuant::kPerChannel);
std::string stem_lut_key(const ConvLayer& stem, WeightQuant weights = WeightQuant::kPerChannel);
std::string head_lut_key(const ResolvedNet& net, WeightQuant weights = WeightQuant::kPerChannel);
std::string io_lut_key(const ResolvedNet& net);
std::string calibration_lut_key(const std::string& name,
                                WeightQuant weights = WeightQuant::kPerChannel);

/// Every key a network's latency sums over, in execution order: stem, blocks, head, io.
std::vector<std::string> net_lut_keys(const ResolvedNet& net,
                                      WeightQuant weights = WeightQuant::kPerChannel);

/// One thing the table measures.
struct LutItem {
  enum class Kind { kStem, kBlock, kHead, kIo };
  Kind kind = Kind::kBlock;
  std::string key;
  ResolvedBlock block;  ///< kBlock
  NetSpec net;          ///< kStem, kHead, kIo: the space's skeleton (fixes their shapes)
};

/// What the table of `space` holds for a weight scheme: the stem, every distinct block of
/// distinct_blocks(space), the head and the io entry, each once (by key).
std::vector<LutItem> lut_items(const SearchSpace& space,
                               WeightQuant weights = WeightQuant::kPerChannel);

}  // namespace frostnas
