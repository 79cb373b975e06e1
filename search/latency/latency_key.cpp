#include "search/latency/latency_key.h"

#include <set>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

namespace {

std::string shape(int64_t channels, int64_t size) {
  return std::to_string(channels) + "x" + std::to_string(size);
}

/// The key suffix of a weight scheme (none for per channel: the keys of older tables).
std::string weight_suffix(WeightQuant weights) {
  return weights == WeightQuant::kPerTensor ? ":wpt" : "";
}

}  // namespace

std::string to_string(Precision precision) {
  return precision == Precision::kInt8 ? "int8" : "fp32";
}

std::vector<std::string> precision_names() { return {"int8", "fp32"}; }

Precision parse_precision(const std::string& name, const std::string& field) {
  if (name == "int8") return Precision::kInt8;
  if (name == "fp32") return Precision::kFP32;
  throw InputError(field + ": unknown precision \"" + name +
                   "\" (allowed: " + join_strings(precision_names()) + ")");
}

std::string block_lut_key(const ResolvedBlock& block, WeightQuant weights) {
  return "block:" + block.key() + weight_suffix(weights);
}

std::string stem_lut_key(const ConvLayer& stem, WeightQuant weights) {
  return "stem:i" + shape(stem.in_channels, stem.in_size) + ":o" +
         shape(stem.out_channels, stem.out_size) + ":k" + std::to_string(stem.kernel) + ":s" +
         std::to_string(stem.stride) + weight_suffix(weights);
}

std::string head_lut_key(const ResolvedNet& net, WeightQuant weights) {
  return "head:i" + shape(net.head.in_channels, net.head.in_size) + ":h" +
         std::to_string(net.head.out_channels) + ":c" +
         std::to_string(net.classifier.out_channels) + weight_suffix(weights);
}

std::string io_lut_key(const ResolvedNet& net) {
  return "io:i" + shape(net.spec.in_channels, net.spec.input_size) + ":c" +
         std::to_string(net.classifier.out_channels);
}

std::string calibration_lut_key(const std::string& name, WeightQuant weights) {
  return "calib:" + name + weight_suffix(weights);
}

std::vector<std::string> net_lut_keys(const ResolvedNet& net, WeightQuant weights) {
  std::vector<std::string> keys{stem_lut_key(net.stem, weights)};
  for (const auto& b : net.blocks) keys.push_back(block_lut_key(b, weights));
  keys.push_back(head_lut_key(net, weights));
  keys.push_back(io_lut_key(net));
  return keys;
}

std::vector<LutItem> lut_items(const SearchSpace& space, WeightQuant weights) {
  const NetSpec skel = skeleton(space);
  const ResolvedNet r = resolve(skel);
  std::vector<LutItem> items;
  std::set<std::string> seen;
  auto add = [&](LutItem item) {
    if (seen.insert(item.key).second) items.push_back(std::move(item));
  };
  add({LutItem::Kind::kStem, stem_lut_key(r.stem, weights), {}, skel});
  for (const auto& sb : distinct_blocks(space)) {
    add({LutItem::Kind::kBlock, block_lut_key(sb.block, weights), sb.block, {}});
  }
  add({LutItem::Kind::kHead, head_lut_key(r, weights), {}, skel});
  add({LutItem::Kind::kIo, io_lut_key(r), {}, skel});
  return items;
}

}  // namespace frostnas
