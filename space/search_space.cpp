#include "space/search_space.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "common/format_tag.h"
#include "common/json_reader.h"
#include "common/random.h"
#include "space/channels.h"

namespace frostnas {

namespace {

const std::vector<int64_t>& space_expansions() {
  static const std::vector<int64_t> v{1, 3, 6};
  return v;
}

const std::vector<int64_t>& space_reductions() {
  static const std::vector<int64_t> v{1, 2, 4, 8};
  return v;
}

std::vector<const SlotSpec*> flat_slots(const SearchSpace& space) {
  std::vector<const SlotSpec*> out;
  for (const auto& st : space.stages)
    for (const auto& sl : st.slots) out.push_back(&sl);
  return out;
}

bool same_cell(const std::shared_ptr<const Genotype>& a, const std::shared_ptr<const Genotype>& b) {
  return a == b || (a && b && *a == *b);
}

bool fits(const SearchSpace& space, const SlotSpec& slot, const BlockSpec& b) {
  auto in = [](const std::vector<int64_t>& v, int64_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  const auto types = slot.type_options();
  if (std::find(types.begin(), types.end(), b.type) == types.end()) return false;
  if (b.type == BlockType::kCell && !same_cell(b.cell, space.cell)) return false;
  return slot.out_channels == b.out_channels && slot.stride == b.stride &&
         in(slot.kernels, b.kernel) && in(slot.expansions, b.expansion) &&
         in(slot.reductions, b.reduction);
}

int64_t index_of(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) - v.begin();
}

}  // namespace

std::vector<BlockType> SlotSpec::type_options() const {
  return types.empty() ? std::vector<BlockType>{type} : types;
}

bool SlotSpec::operator==(const SlotSpec& o) const {
  return type_options() == o.type_options() && out_channels == o.out_channels &&
         stride == o.stride && kernels == o.kernels && expansions == o.expansions &&
         reductions == o.reductions && skippable == o.skippable;
}

size_t SearchSpace::num_slots() const {
  size_t n = 0;
  for (const auto& s : stages) n += s.slots.size();
  return n;
}

bool SearchSpace::operator==(const SearchSpace& o) const {
  return MacroSkeleton::operator==(o) && stages == o.stages && same_cell(cell, o.cell);
}

std::string Decision::name() const {
  static const char* kinds[] = {"kernel", "expansion", "reduction", "skip", "type"};
  return "slot" + std::to_string(slot) + "." + kinds[static_cast<int>(kind)];
}

std::vector<Decision> decisions(const SearchSpace& space) {
  std::vector<Decision> out;
  int slot_index = 0;
  for (size_t s = 0; s < space.stages.size(); ++s) {
    for (const auto& slot : space.stages[s].slots) {
      auto add = [&](Decision::Kind kind, const std::vector<int64_t>& options) {
        if (options.size() < 2) return;
        Decision d;
        d.kind = kind;
        d.stage = static_cast<int>(s);
        d.slot = slot_index;
        d.options = options;
        out.push_back(std::move(d));
      };
      add(Decision::Kind::kKernel, slot.kernels);
      add(Decision::Kind::kExpansion, slot.expansions);
      add(Decision::Kind::kReduction, slot.reductions);
      std::vector<int64_t> types;
      for (BlockType t : slot.type_options()) types.push_back(static_cast<int64_t>(t));
      add(Decision::Kind::kType, types);
      if (slot.skippable) add(Decision::Kind::kSkip, {0, 1});
      ++slot_index;
    }
  }
  return out;
}

NetSpec skeleton(const SearchSpace& space) {
  NetSpec net;
  static_cast<MacroSkeleton&>(net) = space;
  for (const auto& st : space.stages) {
    StageSpec stage;
    for (const auto& slot : st.slots) {
      BlockSpec b;
      b.type = slot.type;
      b.out_channels = slot.out_channels;
      b.stride = slot.stride;
      b.kernel = slot.kernels.front();
      b.expansion = slot.expansions.front();
      b.reduction = slot.reductions.front();
      if (b.type == BlockType::kCell) b.cell = space.cell;
      stage.blocks.push_back(b);
    }
    net.stages.push_back(std::move(stage));
  }
  return net;
}

NetSpec decode(const SearchSpace& space, const Choices& choices) {
  const auto ds = decisions(space);
  if (choices.size() != ds.size()) {
    throw InputError("choice vector has " + std::to_string(choices.size()) + " entries (allowed: " +
                     std::to_string(ds.size()) + " for space " + space.name + ")");
  }
  for (size_t i = 0; i < ds.size(); ++i) {
    if (choices[i] < 0 || choices[i] >= static_cast<int64_t>(ds[i].options.size())) {
      throw InputError("choice " + ds[i].name() + " = " + std::to_string(choices[i]) +
                       " is out of range (allowed: 0.." + std::to_string(ds[i].options.size() - 1) +
                       ")");
    }
  }
  NetSpec full = skeleton(space);
  std::vector<BlockSpec*> blocks;
  for (auto& st : full.stages)
    for (auto& b : st.blocks) blocks.push_back(&b);
  std::vector<bool> skipped(blocks.size(), false);
  for (size_t i = 0; i < ds.size(); ++i) {
    const int64_t v = ds[i].options[choices[i]];
    BlockSpec& b = *blocks[ds[i].slot];
    switch (ds[i].kind) {
      case Decision::Kind::kKernel:
        b.kernel = v;
        break;
      case Decision::Kind::kExpansion:
        b.expansion = v;
        break;
      case Decision::Kind::kReduction:
        b.reduction = v;
        break;
      case Decision::Kind::kSkip:
        skipped[ds[i].slot] = v == 1;
        break;
      case Decision::Kind::kType:
        b.type = static_cast<BlockType>(v);
        b.cell = b.type == BlockType::kCell ? space.cell : nullptr;
        break;
    }
  }
  NetSpec net = full;
  net.stages.clear();
  size_t k = 0;
  for (const auto& st : full.stages) {
    StageSpec stage;
    for (const auto& b : st.blocks) {
      if (!skipped[k++]) stage.blocks.push_back(b);
    }
    if (!stage.blocks.empty()) net.stages.push_back(std::move(stage));
  }
  net.name = space.name + "-" + arch_hash(net).substr(0, 8);
  return net;
}

Choices encode(const SearchSpace& space, const NetSpec& net) {
  auto mismatch = [&](const std::string& field) {
    throw InputError("architecture " + net.name + ": " + field + " differs from space " +
                     space.name + " (not a point of the space)");
  };
  if (net.in_channels != space.in_channels) mismatch("in_channels");
  if (net.input_size != space.input_size) mismatch("input_size");
  if (net.num_classes != space.num_classes) mismatch("num_classes");
  if (net.width_mult != space.width_mult) mismatch("width_mult");
  if (!(net.stem == space.stem)) mismatch("stem");
  if (!(net.head == space.head)) mismatch("head");

  const auto slots = flat_slots(space);
  const auto blocks = net.blocks();
  // take[s] = block index held by slot s, or -1 when the slot is skipped.
  std::vector<int64_t> take(slots.size(), -1);
  std::set<std::pair<size_t, size_t>> dead;
  size_t furthest = 0;
  std::function<bool(size_t, size_t)> match = [&](size_t s, size_t b) -> bool {
    furthest = std::max(furthest, b);
    if (s == slots.size()) return b == blocks.size();
    if (dead.count({s, b})) return false;
    if (b < blocks.size() && fits(space, *slots[s], blocks[b])) {
      take[s] = static_cast<int64_t>(b);
      if (match(s + 1, b + 1)) return true;
    }
    if (slots[s]->skippable) {
      take[s] = -1;
      if (match(s + 1, b)) return true;
    }
    dead.insert({s, b});
    return false;
  };
  if (!match(0, 0)) {
    if (furthest >= blocks.size()) {
      throw InputError("architecture " + net.name + ": has too few blocks for space " + space.name);
    }
    throw InputError("architecture " + net.name + ": block " + std::to_string(furthest) +
                     " fits no slot of space " + space.name + " (not a point of the space)");
  }
  Choices choices;
  for (const auto& d : decisions(space)) {
    const int64_t b = take[d.slot];
    if (d.kind == Decision::Kind::kSkip) {
      choices.push_back(b < 0 ? 1 : 0);
    } else if (b < 0) {
      choices.push_back(0);
    } else {
      const BlockSpec& block = blocks[b];
      const int64_t v = d.kind == Decision::Kind::kKernel      ? block.kernel
                        : d.kind == Decision::Kind::kExpansion ? block.expansion
                        : d.kind == Decision::Kind::kType      ? static_cast<int64_t>(block.type)
                                                               : block.reduction;
      choices.push_back(index_of(d.options, v));
    }
  }
  return choices;
}

bool contains(const SearchSpace& space, const NetSpec& net) {
  try {
    encode(space, net);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

Choices sample_choices(const SearchSpace& space, std::mt19937_64& rng) {
  Choices c;
  for (const auto& d : decisions(space)) c.push_back(uniform_index(rng, d.options.size()));
  return c;
}

NetSpec sample(const SearchSpace& space, uint64_t seed) {
  std::mt19937_64 rng(seed);
  return decode(space, sample_choices(space, rng));
}

double space_size(const SearchSpace& space) { return std::pow(10.0, space_log10_size(space)); }

double space_log10_size(const SearchSpace& space) {
  double l = 0.0;
  for (const auto& d : decisions(space)) l += std::log10(static_cast<double>(d.options.size()));
  return l;
}

std::vector<SpaceBlock> distinct_blocks(const SearchSpace& space) {
  std::vector<SpaceBlock> out;
  std::map<std::string, size_t> by_key;
  int64_t channels = scaled_stem_channels(space.stem.channels, space.width_mult);
  int64_t size = conv_out_size(space.input_size, space.stem.kernel, space.stem.stride);
  int slot_index = 0;
  for (size_t s = 0; s < space.stages.size(); ++s) {
    for (const auto& slot : space.stages[s].slots) {
      ResolvedBlock last;
      for (BlockType type : slot.type_options()) {
        for (int64_t k : slot.kernels) {
          for (int64_t e : slot.expansions) {
            for (int64_t r : slot.reductions) {
              BlockSpec spec;
              spec.type = type;
              if (type == BlockType::kCell) spec.cell = space.cell;
              spec.kernel = k;
              spec.out_channels = slot.out_channels;
              spec.expansion = e;
              spec.reduction = r;
              spec.stride = slot.stride;
              ResolvedBlock b = resolve_block(spec, channels, size, space.width_mult);
              b.stage = static_cast<int>(s);
              const std::string key = b.key();
              auto it = by_key.find(key);
              if (it == by_key.end()) {
                by_key[key] = out.size();
                out.push_back({b, {slot_index}});
              } else if (out[it->second].slots.back() != slot_index) {
                out[it->second].slots.push_back(slot_index);
              }
              last = b;
            }
          }
        }
      }
      channels = last.out_channels;
      size = last.out_size;
      ++slot_index;
    }
  }
  return out;
}

nlohmann::json to_json(const SearchSpace& space) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& st : space.stages) {
    nlohmann::json slots = nlohmann::json::array();
    for (const auto& sl : st.slots) {
      nlohmann::json slot = {{"out_channels", sl.out_channels}, {"stride", sl.stride},
                             {"kernels", sl.kernels},           {"expansions", sl.expansions},
                             {"reductions", sl.reductions},     {"skippable", sl.skippable}};
      const auto types = sl.type_options();
      if (types.size() == 1) {
        slot["type"] = to_string(types.front());
      } else {
        nlohmann::json names = nlohmann::json::array();
        for (BlockType t : types) names.push_back(to_string(t));
        slot["types"] = names;
      }
      slots.push_back(slot);
    }
    stages.push_back({{"slots", slots}});
  }
  nlohmann::json j = {{"format", kSpaceFormat}, {"stages", stages}};
  add_macro_skeleton(space, j);
  if (space.cell) j["cell"] = to_json(*space.cell);
  return j;
}

namespace {

std::vector<int64_t> parse_options(const JsonReader& r, const std::vector<int64_t>& allowed) {
  r.expect_array();
  std::vector<int64_t> out;
  for (size_t i = 0; i < r.size(); ++i) {
    const int64_t v = r.at(i).as_int_in(allowed);
    if (std::find(out.begin(), out.end(), v) != out.end()) {
      r.at(i).fail(std::to_string(v) + " is listed twice (allowed: each of " + join_ints(allowed) +
                   " at most once)");
    }
    out.push_back(v);
  }
  return out;
}

BlockType parse_type_name(const std::string& name) {
  if (name == "mbconv") return BlockType::kMBConv;
  if (name == "cell") return BlockType::kCell;
  return BlockType::kFrost;
}

/// The space-wide option lists every slot starts from ("choices").
SlotSpec parse_slot_defaults(const JsonReader& r) {
  SlotSpec defaults;
  if (!r.has("choices")) return defaults;
  const JsonReader c = r.at("choices");
  c.expect_object({"kernels", "expansions", "reductions"});
  if (c.has("kernels")) defaults.kernels = parse_options(c.at("kernels"), allowed_kernels());
  if (c.has("expansions"))
    defaults.expansions = parse_options(c.at("expansions"), space_expansions());
  if (c.has("reductions"))
    defaults.reductions = parse_options(c.at("reductions"), space_reductions());
  return defaults;
}

/// A slot's "type" or "types" into `slot.type` and `slot.types`.
void parse_slot_types(const JsonReader& sr, SlotSpec& slot) {
  if (sr.has("type") && sr.has("types")) {
    sr.fail_at("types", "given together with \"type\" (allowed: one of the two)");
  }
  if (sr.has("type")) slot.type = parse_type_name(sr.get_string_in("type", block_type_names()));
  if (!sr.has("types")) return;
  const JsonReader tr = sr.at("types");
  tr.expect_array();
  const auto names = block_type_names();
  for (size_t t = 0; t < tr.size(); ++t) {
    const JsonReader item = tr.at(t);
    if (!item.value().is_string() ||
        std::find(names.begin(), names.end(), item.value().get<std::string>()) == names.end()) {
      item.fail(item.value().dump() + " is not allowed (allowed: " + join_strings(names) + ")");
    }
    const BlockType type = parse_type_name(item.value().get<std::string>());
    if (std::find(slot.types.begin(), slot.types.end(), type) != slot.types.end()) {
      item.fail("\"" + to_string(type) + "\" is listed twice (allowed: each of " +
                join_strings(names) + " at most once)");
    }
    slot.types.push_back(type);
  }
  slot.type = slot.types.front();
  if (slot.types.size() == 1) slot.types.clear();
}

/// One slot, given the (width-scaled) channels coming in; `first` is the network's first
/// slot, which may be narrower than the stem.
SlotSpec parse_slot(const JsonReader& sr, const SlotSpec& defaults, double width_mult,
                    int64_t channels, bool first) {
  sr.expect_object({"type", "types", "out_channels", "stride", "kernels", "expansions",
                    "reductions", "skippable"});
  SlotSpec slot = defaults;
  parse_slot_types(sr, slot);
  slot.out_channels = sr.get_int("out_channels", kMinChannels, kMaxChannels);
  slot.stride = sr.get_int_in("stride", allowed_strides());
  if (sr.has("kernels")) slot.kernels = parse_options(sr.at("kernels"), allowed_kernels());
  if (sr.has("expansions"))
    slot.expansions = parse_options(sr.at("expansions"), space_expansions());
  if (sr.has("reductions"))
    slot.reductions = parse_options(sr.at("reductions"), space_reductions());
  slot.skippable = sr.get_bool_or("skippable", false);
  const int64_t out = scaled_channels(slot.out_channels, width_mult);
  if (out < channels && !first) {
    sr.fail_at("out_channels", std::to_string(slot.out_channels) +
                                   " does not fit the previous stage: " + std::to_string(out) +
                                   " channels after width scaling, fewer than the " +
                                   std::to_string(channels) + " coming in (allowed: at least " +
                                   std::to_string(channels) + ")");
  }
  if (slot.skippable && (slot.stride != 1 || out != channels)) {
    sr.fail_at("skippable",
               "a skippable slot must keep its input shape (allowed: true only with stride 1 "
               "and out_channels giving the " +
                   std::to_string(channels) + " channels coming in)");
  }
  return slot;
}

/// The stages of slots, and the checks over all of them (a fixed slot somewhere, a cell
/// exactly when some slot offers one).
void parse_space_stages(const JsonReader& r, SearchSpace& space, const std::string& base_dir) {
  const SlotSpec defaults = parse_slot_defaults(r);
  const JsonReader stages = r.at("stages");
  stages.expect_array();
  int64_t channels = scaled_stem_channels(space.stem.channels, space.width_mult);
  bool any_fixed = false;
  bool any_cell = false;
  for (size_t s = 0; s < stages.size(); ++s) {
    const JsonReader stage = stages.at(s);
    stage.expect_object({"slots"});
    const JsonReader slots = stage.at("slots");
    if (!slots.value().is_array() || slots.size() == 0) {
      slots.fail("an empty stage (a stage needs at least one slot)");
    }
    SpaceStage st;
    for (size_t i = 0; i < slots.size(); ++i) {
      SlotSpec slot =
          parse_slot(slots.at(i), defaults, space.width_mult, channels, s == 0 && i == 0);
      for (BlockType t : slot.type_options()) any_cell = any_cell || t == BlockType::kCell;
      any_fixed = any_fixed || !slot.skippable;
      channels = scaled_channels(slot.out_channels, space.width_mult);
      st.slots.push_back(std::move(slot));
    }
    space.stages.push_back(std::move(st));
  }
  if (!any_fixed) r.fail_at("stages", "every slot is skippable (allowed: at least one fixed slot)");
  if (any_cell && !r.has("cell")) {
    r.fail_at("cell",
              "missing (required when a slot offers type \"cell\": a genotype object "
              "or the path of a genotype file)");
  }
  if (!any_cell && r.has("cell")) {
    r.fail_at("cell", "given but no slot offers type \"cell\" (allowed: only with a cell slot)");
  }
  if (any_cell) space.cell = parse_cell_field(r, "cell", base_dir);
}

}  // namespace

SearchSpace search_space_from_json(const nlohmann::json& j, const std::string& source,
                                   const std::string& base_dir) {
  JsonReader r(j, source);
  std::vector<std::string> keys = macro_skeleton_keys();
  keys.insert(keys.end(), {"format", "choices", "stages", "cell"});
  r.expect_object(keys);
  expect_format(r, kSpaceFormat, "a search space");
  SearchSpace space;
  parse_macro_skeleton(r, space);
  parse_space_stages(r, space, base_dir);
  return space;
}

SearchSpace load_search_space(const std::string& path) {
  return search_space_from_json(load_json_file(path), path,
                                std::filesystem::path(path).parent_path().string());
}

}  // namespace frostnas
