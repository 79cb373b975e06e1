#include "space/builtin_archs.h"

#include <algorithm>
#include <array>
#include <fstream>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

namespace {

using Row = std::array<int64_t, 5>;  // kernel, channels, EF, RF, stride
using Config = std::vector<std::vector<Row>>;

const Config& config_of(const std::string& variant) {
  static const Config small{{{3, 16, 1, 1, 1}, {5, 24, 3, 4, 2}, {3, 24, 3, 4, 1}},
                            {{5, 40, 3, 4, 2}},
                            {{5, 80, 3, 4, 2},
                             {5, 80, 3, 4, 1},
                             {3, 80, 3, 4, 1},
                             {5, 96, 3, 2, 1},
                             {5, 96, 3, 4, 1},
                             {5, 96, 3, 4, 1}},
                            {{5, 192, 6, 4, 2}, {5, 192, 6, 4, 1}, {5, 192, 6, 4, 1}},
                            {{5, 320, 6, 2, 1}}};
  static const Config base{
      {{3, 16, 1, 1, 1}, {5, 24, 6, 4, 2}, {3, 24, 3, 4, 1}},
      {{5, 40, 3, 4, 2}, {5, 40, 3, 4, 1}},
      {{5, 80, 3, 4, 2},
       {3, 80, 3, 4, 1},
       {5, 96, 3, 2, 1},
       {3, 96, 3, 4, 1},
       {5, 96, 3, 4, 1},
       {5, 96, 3, 4, 1}},
      {{5, 192, 6, 2, 2}, {5, 192, 3, 2, 1}, {5, 192, 3, 2, 1}, {5, 192, 3, 2, 1}},
      {{5, 320, 6, 2, 1}}};
  static const Config large{{{3, 16, 1, 1, 1}, {3, 24, 6, 4, 2}, {3, 24, 3, 4, 1}},
                            {{5, 40, 6, 4, 2}, {3, 40, 3, 4, 1}},
                            {{5, 80, 6, 4, 2},
                             {5, 80, 3, 4, 1},
                             {5, 80, 3, 4, 1},
                             {5, 96, 6, 4, 1},
                             {5, 96, 3, 4, 1},
                             {3, 96, 3, 4, 1},
                             {3, 96, 3, 4, 1}},
                            {{5, 192, 6, 2, 2},
                             {5, 192, 6, 4, 1},
                             {5, 192, 6, 4, 1},
                             {5, 192, 3, 4, 1},
                             {5, 192, 3, 4, 1}},
                            {{5, 320, 6, 2, 1}}};
  if (variant == "small") return small;
  if (variant == "base") return base;
  if (variant == "large") return large;
  throw InputError("unknown FrostNet variant \"" + variant +
                   "\" (allowed: " + join_strings(frostnet_variants()) + ")");
}

}  // namespace

const std::vector<std::string>& frostnet_variants() {
  static const std::vector<std::string> v{"small", "base", "large"};
  return v;
}

const std::vector<double>& frostnet_widths() {
  static const std::vector<double> w{0.35, 0.5, 0.75, 1.0, 1.25};
  return w;
}

NetSpec frostnet_spec(const std::string& variant, double width_mult) {
  NetSpec net;
  net.name = "frostnet-" + variant + "-" + format_width(width_mult);
  net.in_channels = 3;
  net.input_size = 224;
  net.num_classes = 1000;
  net.width_mult = width_mult;
  net.stem = StemSpec{32, 3, 2};
  net.head = HeadSpec{1280};
  net.dropout = 0.2;
  for (const auto& rows : config_of(variant)) {
    StageSpec stage;
    for (const auto& r : rows) {
      BlockSpec b;
      b.type = BlockType::kFrost;
      b.kernel = r[0];
      b.out_channels = r[1];
      b.expansion = r[2];
      b.reduction = r[3];
      b.stride = r[4];
      stage.blocks.push_back(b);
    }
    net.stages.push_back(std::move(stage));
  }
  return net;
}

std::vector<std::string> builtin_arch_names() {
  std::vector<std::string> names;
  for (const auto& v : frostnet_variants()) {
    for (double w : frostnet_widths()) names.push_back("frostnet-" + v + "-" + format_width(w));
  }
  return names;
}

bool is_builtin_arch(const std::string& name) {
  const auto names = builtin_arch_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

NetSpec builtin_arch(const std::string& name) {
  for (const auto& v : frostnet_variants()) {
    for (double w : frostnet_widths()) {
      if (name == "frostnet-" + v + "-" + format_width(w)) return frostnet_spec(v, w);
    }
  }
  throw InputError("unknown architecture \"" + name +
                   "\" (allowed: a frostnas.arch/1 JSON file or one of " +
                   join_strings(builtin_arch_names()) + ")");
}

NetSpec load_arch(const std::string& name_or_path) {
  if (is_builtin_arch(name_or_path)) return builtin_arch(name_or_path);
  std::ifstream probe(name_or_path);
  if (probe.good()) return load_net_spec(name_or_path);
  return builtin_arch(name_or_path);  // throws, listing the built-ins
}

}  // namespace frostnas
