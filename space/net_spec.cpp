#include "space/net_spec.h"

#include <cstdio>
#include <filesystem>

#include "common/format_tag.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "space/channels.h"

namespace frostnas {

std::string to_string(BlockType type) {
  switch (type) {
    case BlockType::kFrost:
      return "frost";
    case BlockType::kMBConv:
      return "mbconv";
    case BlockType::kCell:
      return "cell";
  }
  return "frost";
}

std::vector<std::string> block_type_names() { return {"frost", "mbconv", "cell"}; }

const std::vector<int64_t>& allowed_kernels() {
  static const std::vector<int64_t> k{3, 5, 7};
  return k;
}

const std::vector<int64_t>& allowed_strides() {
  static const std::vector<int64_t> s{1, 2};
  return s;
}

size_t NetSpec::num_blocks() const {
  size_t n = 0;
  for (const auto& s : stages) n += s.blocks.size();
  return n;
}

std::vector<BlockSpec> NetSpec::blocks() const {
  std::vector<BlockSpec> out;
  for (const auto& s : stages) out.insert(out.end(), s.blocks.begin(), s.blocks.end());
  return out;
}

bool MacroSkeleton::operator==(const MacroSkeleton& o) const {
  return name == o.name && in_channels == o.in_channels && input_size == o.input_size &&
         num_classes == o.num_classes && width_mult == o.width_mult && stem == o.stem &&
         head == o.head && dropout == o.dropout;
}

bool NetSpec::operator==(const NetSpec& o) const {
  return MacroSkeleton::operator==(o) && stages == o.stages;
}

nlohmann::json to_json(const BlockSpec& b) {
  nlohmann::json j = {{"type", to_string(b.type)},      {"kernel", b.kernel},
                      {"out_channels", b.out_channels}, {"expansion", b.expansion},
                      {"reduction", b.reduction},       {"stride", b.stride}};
  if (b.cell) j["cell"] = to_json(*b.cell);
  return j;
}

const std::vector<std::string>& macro_skeleton_keys() {
  static const std::vector<std::string> keys{
      "name", "in_channels", "input_size", "num_classes", "width_mult", "stem", "head", "dropout"};
  return keys;
}

void parse_macro_skeleton(const JsonReader& r, MacroSkeleton& m) {
  m.name = r.get_string_or("name", m.name);
  m.in_channels = r.get_int("in_channels", 1, 64);
  m.input_size = r.get_int("input_size", 8, 1024);
  m.num_classes = r.get_int("num_classes", 2, 100000);
  m.width_mult = r.get_double("width_mult", 0.0, kMaxWidthMult, /*lo_open=*/true);
  const JsonReader stem = r.at("stem");
  stem.expect_object({"channels", "kernel", "stride"});
  m.stem.channels = stem.get_int("channels", kMinChannels, kMaxChannels);
  m.stem.kernel = stem.get_int_in("kernel", allowed_kernels());
  m.stem.stride = stem.get_int_in("stride", allowed_strides());
  const JsonReader head = r.at("head");
  head.expect_object({"channels"});
  m.head.channels = head.get_int("channels", kMinChannels, kMaxChannels);
  m.dropout = r.get_double_or("dropout", m.dropout, 0.0, 0.99);
}

void add_macro_skeleton(const MacroSkeleton& m, nlohmann::json& j) {
  j["name"] = m.name;
  j["in_channels"] = m.in_channels;
  j["input_size"] = m.input_size;
  j["num_classes"] = m.num_classes;
  j["width_mult"] = m.width_mult;
  j["stem"] = {{"channels", m.stem.channels}, {"kernel", m.stem.kernel}, {"stride", m.stem.stride}};
  j["head"] = {{"channels", m.head.channels}};
  j["dropout"] = m.dropout;
}

nlohmann::json to_json(const NetSpec& net) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : net.stages) {
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& b : s.blocks) blocks.push_back(to_json(b));
    stages.push_back({{"blocks", blocks}});
  }
  nlohmann::json j = {{"format", kArchFormat}, {"stages", stages}};
  add_macro_skeleton(net, j);
  return j;
}

std::shared_ptr<const Genotype> parse_cell_field(const JsonReader& r, const std::string& key,
                                                 const std::string& base_dir) {
  const JsonReader c = r.at(key);
  if (c.value().is_object()) {
    return std::make_shared<const Genotype>(genotype_from_json(c.value(), c.source(), c.path()));
  }
  if (!c.value().is_string()) {
    c.fail("expected a genotype object or the path of a genotype file (" +
           std::string(kCellFormat) + ")");
  }
  std::filesystem::path file = c.value().get<std::string>();
  if (file.empty()) c.fail("empty genotype path (allowed: a genotype object or a file path)");
  if (file.is_relative() && !base_dir.empty()) file = std::filesystem::path(base_dir) / file;
  try {
    return std::make_shared<const Genotype>(load_genotype(file.string()));
  } catch (const InputError& e) {
    c.fail(std::string("genotype file: ") + e.what());
  }
}

namespace {

BlockType parse_block_type(const JsonReader& r) {
  const std::string t = r.has("type") ? r.get_string_in("type", block_type_names()) : "frost";
  if (t == "mbconv") return BlockType::kMBConv;
  if (t == "cell") return BlockType::kCell;
  return BlockType::kFrost;
}

BlockSpec parse_block(const JsonReader& r, const std::string& base_dir) {
  r.expect_object({"type", "kernel", "out_channels", "expansion", "reduction", "stride", "cell"});
  BlockSpec b;
  b.type = parse_block_type(r);
  b.kernel = r.get_int_in("kernel", allowed_kernels());
  b.out_channels = r.get_int("out_channels", kMinChannels, kMaxChannels);
  b.expansion = r.get_int("expansion", 1, kMaxExpansion);
  b.reduction = r.get_int("reduction", 1, kMaxReduction);
  b.stride = r.get_int_in("stride", allowed_strides());
  if (b.type == BlockType::kCell) {
    if (!r.has("cell")) {
      r.fail_at("cell",
                "missing (required with type \"cell\": a genotype object or the path "
                "of a genotype file)");
    }
    b.cell = parse_cell_field(r, "cell", base_dir);
  } else if (r.has("cell")) {
    r.fail_at("cell",
              "only allowed with type \"cell\" (this block is \"" + to_string(b.type) + "\")");
  }
  return b;
}

}  // namespace

NetSpec net_spec_from_json(const nlohmann::json& j, const std::string& source,
                           const std::string& base_dir) {
  JsonReader r(j, source);
  std::vector<std::string> keys = macro_skeleton_keys();
  keys.insert(keys.end(), {"format", "stages"});
  r.expect_object(keys);
  expect_format(r, kArchFormat, "an architecture");
  NetSpec net;
  parse_macro_skeleton(r, net);
  const JsonReader stages = r.at("stages");
  stages.expect_array();
  for (size_t i = 0; i < stages.size(); ++i) {
    const JsonReader stage = stages.at(i);
    stage.expect_object({"blocks"});
    const JsonReader blocks = stage.at("blocks");
    blocks.expect_array();
    StageSpec s;
    for (size_t b = 0; b < blocks.size(); ++b)
      s.blocks.push_back(parse_block(blocks.at(b), base_dir));
    net.stages.push_back(std::move(s));
  }
  validate(net, source);
  return net;
}

void validate(const NetSpec& net, const std::string& source) {
  auto fail = [&](const std::string& path, const std::string& msg) {
    throw InputError(source + ": " + path + ": " + msg);
  };
  if (!(net.width_mult > 0.0 && net.width_mult <= kMaxWidthMult)) {
    fail("$.width_mult", std::to_string(net.width_mult) + " is out of range (allowed: (0, 4])");
  }
  if (net.stages.empty()) fail("$.stages", "must not be empty");
  int64_t size = conv_out_size(net.input_size, net.stem.kernel, net.stem.stride);
  int64_t channels = scaled_stem_channels(net.stem.channels, net.width_mult);
  for (size_t s = 0; s < net.stages.size(); ++s) {
    const auto& stage = net.stages[s];
    const std::string stage_path = "$.stages[" + std::to_string(s) + "]";
    if (stage.blocks.empty())
      fail(stage_path + ".blocks", "an empty stage (a stage needs at least one block)");
    for (size_t b = 0; b < stage.blocks.size(); ++b) {
      const auto& block = stage.blocks[b];
      const std::string path = stage_path + ".blocks[" + std::to_string(b) + "]";
      const int64_t out = scaled_channels(block.out_channels, net.width_mult);
      if (out < channels && !(s == 0 && b == 0)) {
        fail(path + ".out_channels",
             std::to_string(block.out_channels) +
                 " does not fit the previous stage: " + std::to_string(out) +
                 " channels after width scaling, fewer than the " + std::to_string(channels) +
                 " coming in (allowed: at least " + std::to_string(channels) + ")");
      }
      if (size == 1 && block.stride == 2) {
        fail(path + ".stride", "2 would shrink a 1x1 feature map (input_size " +
                                   std::to_string(net.input_size) + " is too small; allowed: 1)");
      }
      size = conv_out_size(size, block.kernel, block.stride);
      channels = out;
    }
  }
}

NetSpec load_net_spec(const std::string& path) {
  return net_spec_from_json(load_json_file(path), path,
                            std::filesystem::path(path).parent_path().string());
}

void save_net_spec(const NetSpec& net, const std::string& path) {
  save_json_file(to_json(net), path);
}

std::string arch_hash(const NetSpec& net) {
  nlohmann::json j = to_json(net);
  j.erase("name");
  // FNV-1a over the canonical dump, from the basis the first release used (the standard
  // basis without its last digit): stored databases key their candidates by these hashes.
  constexpr uint64_t kArchHashBasis = 1469598103934665603ULL;
  return hex64(fnv1a(j.dump(), kArchHashBasis));
}

std::string format_width(double width_mult) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", width_mult);
  std::string s = buf;
  while (s.size() > 3 && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace frostnas
