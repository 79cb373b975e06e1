#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/net_spec.h"
#include "space/resolved_net.h"

namespace frostnas {

/// The "format" field of a search-space file.
constexpr const char* kSpaceFormat = "frostnas.space/1";

/// One layer slot of the macro skeleton: its output width and stride are fixed,
/// kernel, EF and RF are chosen from the allowed lists, and a skippable slot may
/// be left out (depth search). A skippable slot has stride 1 and as many output
/// channels as it receives, so leaving it out is the identity.
struct SlotSpec {
  BlockType type = BlockType::kFrost;  ///< the first (or only) block type
  /// Block types offered when more than one (a "type" decision); empty = {type}.
  /// type == types.front() whenever types is not empty.
  std::vector<BlockType> types;
  int64_t out_channels = 16;
  int64_t stride = 1;
  std::vector<int64_t> kernels{3, 5, 7};
  std::vector<int64_t> expansions{1, 3, 6};
  std::vector<int64_t> reductions{2, 4, 8};
  bool skippable = false;
  /// The offered block types: `types`, or {type} when it is empty.
  std::vector<BlockType> type_options() const;
  bool operator==(const SlotSpec& o) const;
};

struct SpaceStage {
  std::vector<SlotSpec> slots;
  bool operator==(const SpaceStage& o) const { return slots == o.slots; }
};

/// A search space over Frost bottleneck variants on a fixed macro skeleton: the
/// skeleton an architecture has, with slots in the place of blocks.
struct SearchSpace : MacroSkeleton {
  SearchSpace() { name = "space"; }

  std::vector<SpaceStage> stages;
  /// The genotype of every "cell" block of the space (required when a slot offers it;
  /// compared by value).
  std::shared_ptr<const Genotype> cell;

  size_t num_slots() const;
  bool operator==(const SearchSpace& o) const;
};

/// One decision of the space, the unit of a choice vector.
struct Decision {
  enum class Kind { kKernel, kExpansion, kReduction, kSkip, kType };
  Kind kind = Kind::kKernel;
  int stage = 0;
  int slot = 0;  ///< index over all slots
  /// kernel sizes, EFs, RFs, {0 = keep, 1 = skip}, or block types (BlockType as integer)
  std::vector<int64_t> options;
  std::string name() const;  ///< e.g. "slot1.kernel", "slot3.type"
};

/// An architecture as one option index per decision (see `decisions`).
using Choices = std::vector<int64_t>;

/// The decisions of the space in a fixed order (per slot: kernel, expansion,
/// reduction, type, skip), leaving out those with a single option.
std::vector<Decision> decisions(const SearchSpace& space);

/// Builds the architecture a choice vector names. Throws InputError on a vector
/// of the wrong length or an index out of range.
NetSpec decode(const SearchSpace& space, const Choices& choices);

/// The choice vector of an architecture of the space (skipped slots get index 0
/// for their other decisions). Throws InputError naming the first block that no
/// slot can hold.
Choices encode(const SearchSpace& space, const NetSpec& net);

/// True when `encode` succeeds.
bool contains(const SearchSpace& space, const NetSpec& net);

/// A uniformly random choice vector from `rng` (portable: the same seed gives the
/// same vector with every standard library).
Choices sample_choices(const SearchSpace& space, std::mt19937_64& rng);
NetSpec sample(const SearchSpace& space, uint64_t seed);

/// Number of choice vectors (the product of the option counts), as a double,
/// and its decimal logarithm.
double space_size(const SearchSpace& space);
double space_log10_size(const SearchSpace& space);

/// One distinct block configuration of the space with its fixed input shape.
struct SpaceBlock {
  ResolvedBlock block;
  std::vector<int> slots;  ///< slots that can produce it
};

/// Every distinct block configuration (by `ResolvedBlock::key`) the space can
/// produce, with its input shape: the list the latency table measures.
std::vector<SpaceBlock> distinct_blocks(const SearchSpace& space);

/// The skeleton with every slot kept and the first option of each choice:
/// stem, head and input size for the latency table.
NetSpec skeleton(const SearchSpace& space);

nlohmann::json to_json(const SearchSpace& space);
/// Parses and validates a space; `source` names the input in errors. A slot offers
/// one block type ("type") or several ("types": ["frost", "cell"]); the space-level
/// "cell" (a genotype object or a genotype file path, relative to `base_dir` when not
/// absolute) is required exactly when some slot offers "cell".
SearchSpace search_space_from_json(const nlohmann::json& j, const std::string& source,
                                   const std::string& base_dir = "");
/// Reads a space file (genotype paths relative to its directory).
SearchSpace load_search_space(const std::string& path);

}  // namespace frostnas
