#include "space/arch_report.h"

#include <cstdio>
#include <sstream>

#include "common/json_reader.h"
#include "space/builtin_archs.h"

namespace frostnas {

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

namespace {

std::string shape(int64_t c, int64_t s) {
  return std::to_string(c) + "x" + std::to_string(s) + "x" + std::to_string(s);
}

std::string mmacs(int64_t macs) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f M", static_cast<double>(macs) / 1e6);
  return buf;
}

nlohmann::json conv_json(const ConvLayer& c) {
  return {{"role", c.role},
          {"in", {c.in_channels, c.in_size, c.in_size}},
          {"out", {c.out_channels, c.out_size, c.out_size}},
          {"kernel", c.kernel},
          {"stride", c.stride},
          {"groups", c.groups},
          {"params", c.params()},
          {"macs", c.macs()}};
}

}  // namespace

std::string describe(const ResolvedNet& net) {
  const NetSpec& spec = net.spec;
  std::ostringstream os;
  os << spec.name << ": " << spec.input_size << "x" << spec.input_size << "x" << spec.in_channels
     << " input, " << spec.num_classes << " classes, width " << format_width(spec.width_mult)
     << "\n";
  char line[256];
  std::snprintf(line, sizeof(line),
                "%5s %5s %-6s %2s %3s %3s %2s %-12s %-12s %7s %7s %4s %11s %11s\n", "#", "stage",
                "kind", "k", "EF", "RF", "s", "in", "out", "squeeze", "hidden", "res", "params",
                "MACs");
  os << line;
  auto conv_row = [&](const char* label, const ConvLayer& c) {
    std::snprintf(line, sizeof(line),
                  "%5s %5s %-6s %2lld %3s %3s %2lld %-12s %-12s %7s %7s %4s %11s %11s\n", "-", "-",
                  label, static_cast<long long>(c.kernel), "-", "-",
                  static_cast<long long>(c.stride), shape(c.in_channels, c.in_size).c_str(),
                  shape(c.out_channels, c.out_size).c_str(), "-", "-", "-",
                  format_count(c.params()).c_str(), mmacs(c.macs()).c_str());
    os << line;
  };
  conv_row("stem", net.stem);
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    const auto& b = net.blocks[i];
    std::snprintf(line, sizeof(line),
                  "%5zu %5d %-6s %2lld %3lld %3lld %2lld %-12s %-12s %7s %7lld %4s %11s %11s\n", i,
                  b.stage, to_string(b.kind).c_str(), static_cast<long long>(b.spec.kernel),
                  static_cast<long long>(b.spec.expansion),
                  static_cast<long long>(b.spec.reduction), static_cast<long long>(b.spec.stride),
                  shape(b.in_channels, b.in_size).c_str(),
                  shape(b.out_channels, b.out_size).c_str(),
                  b.squeeze_channels ? std::to_string(b.squeeze_channels).c_str()
                  : b.cell_channels  ? ("c" + std::to_string(b.cell_channels)).c_str()
                                     : "-",
                  static_cast<long long>(b.hidden_channels), b.residual ? "yes" : "no",
                  format_count(b.params()).c_str(), mmacs(b.macs()).c_str());
    os << line;
    if (b.kind == BlockKind::kCell) {
      os << "      cell " << b.spec.cell->name << " (width " << b.cell_channels
         << "): " << canonical_string(*b.spec.cell) << "\n";
    }
  }
  conv_row("head", net.head);
  conv_row("fc", net.classifier);
  os << "total: " << format_count(net.params()) << " parameters, " << mmacs(net.macs()) << "ACs ("
     << format_count(net.macs()) << " multiply-accumulates), " << net.blocks.size() << " blocks\n";
  return os.str();
}

nlohmann::json describe_json(const ResolvedNet& net) {
  nlohmann::json blocks = nlohmann::json::array();
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    const auto& b = net.blocks[i];
    nlohmann::json convs = nlohmann::json::array();
    for (const auto& c : b.convs) convs.push_back(conv_json(c));
    blocks.push_back({{"index", i},
                      {"stage", b.stage},
                      {"type", to_string(b.spec.type)},
                      {"kind", to_string(b.kind)},
                      {"kernel", b.spec.kernel},
                      {"expansion", b.spec.expansion},
                      {"reduction", b.spec.reduction},
                      {"stride", b.spec.stride},
                      {"in", {b.in_channels, b.in_size, b.in_size}},
                      {"out", {b.out_channels, b.out_size, b.out_size}},
                      {"squeeze_channels", b.squeeze_channels},
                      {"cell_channels", b.cell_channels},
                      {"cell", b.spec.cell ? to_json(*b.spec.cell) : nlohmann::json()},
                      {"hidden_channels", b.hidden_channels},
                      {"residual", b.residual},
                      {"params", b.params()},
                      {"macs", b.macs()},
                      {"key", b.key()},
                      {"convs", convs}});
  }
  const NetSpec& s = net.spec;
  return {{"name", s.name},
          {"params", net.params()},
          {"macs", net.macs()},
          {"input_size", s.input_size},
          {"in_channels", s.in_channels},
          {"num_classes", s.num_classes},
          {"width_mult", s.width_mult},
          {"hash", arch_hash(s)},
          {"stem", conv_json(net.stem)},
          {"blocks", blocks},
          {"head", conv_json(net.head)},
          {"classifier", conv_json(net.classifier)},
          {"arch", to_json(s)}};
}

namespace {

std::string slot_types_string(const SlotSpec& slot) {
  std::string out;
  for (BlockType t : slot.type_options()) out += (out.empty() ? "" : ",") + to_string(t);
  return out;
}

std::vector<std::string> contained_builtins(const SearchSpace& space) {
  std::vector<std::string> out;
  for (const auto& name : builtin_arch_names()) {
    if (contains(space, builtin_arch(name))) out.push_back(name);
  }
  return out;
}

}  // namespace

std::string describe(const SearchSpace& space) {
  std::ostringstream os;
  const auto ds = decisions(space);
  const auto blocks = distinct_blocks(space);
  os << "space " << space.name << ": " << space.input_size << "x" << space.input_size << "x"
     << space.in_channels << " input, " << space.num_classes << " classes, width "
     << format_width(space.width_mult) << "\n";
  os << "stem: " << space.stem.channels << " channels, " << space.stem.kernel << "x"
     << space.stem.kernel << " stride " << space.stem.stride << "; head: " << space.head.channels
     << " channels, dropout " << space.dropout << "\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%5s %5s %-10s %4s %2s %-10s %-10s %-10s %-4s\n", "slot",
                "stage", "type", "out", "s", "kernels", "EF", "RF", "skip");
  os << line;
  int index = 0;
  for (size_t s = 0; s < space.stages.size(); ++s) {
    for (const auto& slot : space.stages[s].slots) {
      std::snprintf(line, sizeof(line), "%5d %5zu %-10s %4lld %2lld %-10s %-10s %-10s %-4s\n",
                    index++, s, slot_types_string(slot).c_str(),
                    static_cast<long long>(slot.out_channels), static_cast<long long>(slot.stride),
                    join_ints(slot.kernels).c_str(), join_ints(slot.expansions).c_str(),
                    join_ints(slot.reductions).c_str(), slot.skippable ? "yes" : "no");
      os << line;
    }
  }
  char size[64];
  std::snprintf(size, sizeof(size), "%.3g (10^%.2f)", space_size(space), space_log10_size(space));
  if (space.cell) {
    os << "cell " << space.cell->name << ": " << canonical_string(*space.cell) << "\n";
  }
  os << space.num_slots() << " slots, " << ds.size() << " decisions, " << size
     << " choice vectors, " << blocks.size() << " distinct block configurations\n";
  const auto builtins = contained_builtins(space);
  os << "official architectures in this space: "
     << (builtins.empty() ? std::string("none") : join_strings(builtins)) << "\n";
  return os.str();
}

nlohmann::json describe_json(const SearchSpace& space) {
  nlohmann::json ds = nlohmann::json::array();
  for (const auto& d : decisions(space)) ds.push_back({{"name", d.name()}, {"options", d.options}});
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : distinct_blocks(space)) {
    blocks.push_back({{"key", b.block.key()},
                      {"slots", b.slots},
                      {"in", {b.block.in_channels, b.block.in_size, b.block.in_size}},
                      {"out", {b.block.out_channels, b.block.out_size, b.block.out_size}},
                      {"macs", b.block.macs()},
                      {"params", b.block.params()}});
  }
  return {{"name", space.name},
          {"slots", space.num_slots()},
          {"decisions", ds},
          {"size", space_size(space)},
          {"log10_size", space_log10_size(space)},
          {"distinct_blocks", blocks},
          {"official_architectures", contained_builtins(space)},
          {"space", to_json(space)}};
}

}  // namespace frostnas
