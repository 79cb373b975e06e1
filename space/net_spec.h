#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/genotype.h"

namespace frostnas {

/// The "format" field of an architecture file.
constexpr const char* kArchFormat = "frostnas.arch/1";

/// Which bottleneck a block is.
/// - kFrost: the Frost bottleneck (docs/frostnet.md, "Frost bottleneck"): squeeze-and-
///   concatenate branch, falling back to MBConv when in_channels / RF < 8, no expansion
///   when EF = 1.
/// - kMBConv: an inverted residual without the squeeze branch (MobileNetV2-style).
/// - kCell: the Frost bottleneck with a searched cell (space/genotype.h) in the place of
///   the squeeze branch; same fallbacks as kFrost (EF = 1: depthwise; join concat with
///   in_channels / RF < 8: MBConv).
enum class BlockType { kFrost, kMBConv, kCell };

std::string to_string(BlockType type);
/// Allowed names: "frost", "mbconv", "cell".
std::vector<std::string> block_type_names();

/// Allowed values of the architecture fields (shared by validation and messages).
const std::vector<int64_t>& allowed_kernels();  ///< 3, 5, 7
const std::vector<int64_t>& allowed_strides();  ///< 1, 2
constexpr int64_t kMaxExpansion = 8;
constexpr int64_t kMaxReduction = 16;
constexpr int64_t kMinChannels = 1;
constexpr int64_t kMaxChannels = 4096;
constexpr double kMaxWidthMult = 4.0;

/// One bottleneck block: `[k, c, e, r, s]` of the reference plus its type.
/// `out_channels` is the base width, scaled by the network's width multiplier.
struct BlockSpec {
  BlockSpec() = default;
  /// `[k, c, e, r, s]` of a block of `type` (and its cell for kCell).
  BlockSpec(BlockType type, int64_t kernel, int64_t out_channels, int64_t expansion,
            int64_t reduction, int64_t stride, std::shared_ptr<const Genotype> cell = nullptr)
      : type(type),
        kernel(kernel),
        out_channels(out_channels),
        expansion(expansion),
        reduction(reduction),
        stride(stride),
        cell(std::move(cell)) {}

  BlockType type = BlockType::kFrost;
  int64_t kernel = 3;
  int64_t out_channels = 16;
  int64_t expansion = 1;  ///< EF
  int64_t reduction = 4;  ///< RF
  int64_t stride = 1;
  /// The cell of a kCell block (required exactly for kCell); compared by value.
  std::shared_ptr<const Genotype> cell;

  bool operator==(const BlockSpec& o) const {
    return type == o.type && kernel == o.kernel && out_channels == o.out_channels &&
           expansion == o.expansion && reduction == o.reduction && stride == o.stride &&
           (cell == o.cell || (cell && o.cell && *cell == *o.cell));
  }
  bool operator!=(const BlockSpec& o) const { return !(*this == o); }
};

/// A stage: blocks run in order (the reference's layer1..layer5).
struct StageSpec {
  std::vector<BlockSpec> blocks;
  bool operator==(const StageSpec& o) const { return blocks == o.blocks; }
};

/// The stem: ConvBNReLU(in_channels -> channels, kernel, stride); channels are
/// scaled by min(1, width_mult).
struct StemSpec {
  int64_t channels = 32;
  int64_t kernel = 3;
  int64_t stride = 2;
  bool operator==(const StemSpec& o) const {
    return channels == o.channels && kernel == o.kernel && stride == o.stride;
  }
};

/// The head: ConvBNReLU(C_last -> channels, 1x1), global average pool, dropout,
/// Conv2d(channels -> num_classes, 1x1) with bias. Not scaled by width.
struct HeadSpec {
  int64_t channels = 1280;
  bool operator==(const HeadSpec& o) const { return channels == o.channels; }
};

/// What an architecture and a search space share: the input, the classes, the width
/// multiplier and the fixed parts around the stages (stem, head, classifier dropout).
/// Its fields are read and written by one parser and one writer for both file formats.
struct MacroSkeleton {
  std::string name = "unnamed";
  int64_t in_channels = 3;
  int64_t input_size = 224;
  int64_t num_classes = 1000;
  double width_mult = 1.0;
  StemSpec stem;
  HeadSpec head;
  double dropout = 0.2;

  bool operator==(const MacroSkeleton& o) const;
};

/// A whole network, as a plain value type that round-trips to JSON: the skeleton plus
/// its stages of blocks.
struct NetSpec : MacroSkeleton {
  std::vector<StageSpec> stages;

  /// Number of blocks over all stages.
  size_t num_blocks() const;
  /// All blocks in order.
  std::vector<BlockSpec> blocks() const;

  bool operator==(const NetSpec& o) const;
  bool operator!=(const NetSpec& o) const { return !(*this == o); }
};

/// A block object; a kCell block carries its genotype inline under "cell".
nlohmann::json to_json(const BlockSpec& block);
nlohmann::json to_json(const NetSpec& net);

class JsonReader;
/// The keys of the skeleton's fields in an architecture or search-space object.
const std::vector<std::string>& macro_skeleton_keys();
/// Reads the skeleton's fields of an architecture or search-space object into `m`
/// ("name" and "dropout" are optional and keep `m`'s values when absent). Throws
/// InputError with the JSON path and the allowed values.
void parse_macro_skeleton(const JsonReader& r, MacroSkeleton& m);
/// Writes the skeleton's fields into the object `j`.
void add_macro_skeleton(const MacroSkeleton& m, nlohmann::json& j);

/// Parses and validates an architecture. `source` names the input in errors
/// (a file name). Throws InputError with the JSON path and the allowed values.
/// A block's "cell" is an inline genotype object or a path to a genotype file,
/// resolved against `base_dir` when relative (empty: the working directory).
NetSpec net_spec_from_json(const nlohmann::json& j, const std::string& source,
                           const std::string& base_dir = "");
/// Parses a "cell" field (inline genotype object or file path, see net_spec_from_json):
/// errors name `r`'s source and path, then the genotype file's own message.
std::shared_ptr<const Genotype> parse_cell_field(const JsonReader& r, const std::string& key,
                                                 const std::string& base_dir);

/// Checks what no single field shows: no stride 2 on a 1x1 feature map, and
/// channels never shrink from one block to the next (the stem, often wider than
/// the first block, excepted). Throws InputError.
void validate(const NetSpec& net, const std::string& source);

/// Reads an architecture file (genotype paths relative to its directory).
NetSpec load_net_spec(const std::string& path);
/// Writes an architecture file atomically.
void save_net_spec(const NetSpec& net, const std::string& path);

/// A stable 16-hex-digit hash of the architecture (its canonical JSON without the name).
std::string arch_hash(const NetSpec& net);

/// `1.0`, `0.35`: the width as it appears in built-in names.
std::string format_width(double width_mult);

}  // namespace frostnas
