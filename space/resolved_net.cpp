#include "space/resolved_net.h"

#include <algorithm>

#include "common/error.h"
#include "common/json_reader.h"
#include "space/channels.h"

namespace frostnas {

int64_t ConvLayer::params() const {
  int64_t p = out_channels * (in_channels / groups) * kernel * kernel;
  if (bias) p += out_channels;
  if (batch_norm) p += 2 * out_channels;
  return p;
}

int64_t ConvLayer::macs() const {
  return out_channels * out_size * out_size * (in_channels / groups) * kernel * kernel;
}

std::string to_string(BlockKind kind) {
  switch (kind) {
    case BlockKind::kFrost:
      return "frost";
    case BlockKind::kMBConv:
      return "mbconv";
    case BlockKind::kDepthwise:
      return "dw";
    case BlockKind::kCell:
      return "cell";
  }
  return "frost";
}

namespace {

ConvLayer make_conv(std::string role, int64_t in, int64_t out, int64_t kernel, int64_t stride,
                    int64_t groups, int64_t in_size, bool relu) {
  ConvLayer c;
  c.role = std::move(role);
  c.in_channels = in;
  c.out_channels = out;
  c.kernel = kernel;
  c.stride = stride;
  c.groups = groups;
  c.in_size = in_size;
  c.out_size = conv_out_size(in_size, kernel, stride);
  c.relu = relu;
  return c;
}

}  // namespace

int64_t se_hidden_channels(int64_t c) { return std::max<int64_t>(8, c / 4); }

std::vector<ConvLayer> cell_op_convs(const std::string& op, int64_t c, int64_t size) {
  const auto& names = cell_op_names();
  if (std::find(names.begin(), names.end(), op) == names.end()) {
    throw InputError("cell op \"" + op + "\" is unknown (allowed: " + join_strings(names) + ")");
  }
  if (op == "conv_1x1") return {make_conv(op, c, c, 1, 1, 1, size, true)};
  if (op == "dwconv_3x3") return {make_conv(op, c, c, 3, 1, c, size, true)};
  if (op == "dwconv_5x5") return {make_conv(op, c, c, 5, 1, c, size, true)};
  if (op == "se") {
    const int64_t h = se_hidden_channels(c);
    ConvLayer reduce = make_conv("se.reduce", c, h, 1, 1, 1, 1, true);
    ConvLayer expand = make_conv("se.expand", h, c, 1, 1, 1, 1, false);
    for (ConvLayer* l : {&reduce, &expand}) {
      l->batch_norm = false;
      l->bias = true;
    }
    return {reduce, expand};
  }
  return {};
}

ResolvedBlock resolve_block(const BlockSpec& spec, int64_t in_channels, int64_t in_size,
                            double width_mult) {
  ResolvedBlock b;
  b.spec = spec;
  b.in_channels = in_channels;
  b.out_channels = scaled_channels(spec.out_channels, width_mult);
  b.in_size = in_size;
  b.out_size = conv_out_size(in_size, spec.kernel, spec.stride);
  b.residual = spec.stride == 1 && in_channels == b.out_channels;

  const bool squeeze_possible = spec.type == BlockType::kFrost && in_channels / spec.reduction >= 8;
  const bool cell_possible =
      spec.type == BlockType::kCell && spec.cell &&
      (spec.cell->join == CellJoin::kSum || in_channels / spec.reduction >= 8);
  if (spec.expansion == 1) {
    b.kind = BlockKind::kDepthwise;
    b.mid_channels = in_channels;
  } else if (cell_possible) {
    b.kind = BlockKind::kCell;
    b.cell_channels = cell_channels(spec.cell->join, in_channels, spec.reduction);
    b.mid_channels =
        spec.cell->join == CellJoin::kConcat ? b.cell_channels + in_channels : in_channels;
  } else if (squeeze_possible) {
    b.kind = BlockKind::kFrost;
    b.squeeze_channels = make_divisible(static_cast<double>(in_channels / spec.reduction));
    b.mid_channels = b.squeeze_channels + in_channels;
  } else {
    b.kind = BlockKind::kMBConv;
    b.mid_channels = in_channels;
  }
  b.hidden_channels = b.mid_channels * spec.expansion;

  if (b.kind == BlockKind::kFrost) {
    b.convs.push_back(
        make_conv("squeeze", in_channels, b.squeeze_channels, 1, 1, 1, in_size, true));
  }
  if (b.kind == BlockKind::kCell) {
    if (b.cell_channels != in_channels) {
      b.convs.push_back(
          make_conv("cell.pre", in_channels, b.cell_channels, 1, 1, 1, in_size, true));
    }
    for (size_t i = 0; i < spec.cell->nodes.size(); ++i) {
      const auto& node = spec.cell->nodes[i];
      for (size_t k = 0; k < node.size(); ++k) {
        const std::string prefix =
            "cell.n" + std::to_string(i + 1) + ".e" + std::to_string(k) + ".";
        for (ConvLayer c : cell_op_convs(node[k].op, b.cell_channels, in_size)) {
          c.role = prefix + c.role;
          b.convs.push_back(std::move(c));
        }
      }
    }
  }
  if (b.kind != BlockKind::kDepthwise) {
    b.convs.push_back(
        make_conv("expand", b.mid_channels, b.hidden_channels, 1, 1, 1, in_size, true));
  }
  b.convs.push_back(make_conv("depthwise", b.hidden_channels, b.hidden_channels, spec.kernel,
                              spec.stride, b.hidden_channels, in_size, true));
  b.convs.push_back(
      make_conv("project", b.hidden_channels, b.out_channels, 1, 1, 1, b.out_size, false));
  return b;
}

int64_t ResolvedBlock::params() const {
  int64_t p = 0;
  for (const auto& c : convs) p += c.params();
  return p;
}

int64_t ResolvedBlock::macs() const {
  int64_t m = 0;
  for (const auto& c : convs) m += c.macs();
  return m;
}

std::string ResolvedBlock::key() const {
  // Only what changes the computation: RF matters only through the squeeze width,
  // and EF = 1 has neither squeeze nor expansion.
  std::string k = to_string(kind) + ":i" + std::to_string(in_channels) + "x" +
                  std::to_string(in_size) + ":o" + std::to_string(out_channels) + "x" +
                  std::to_string(out_size) + ":k" + std::to_string(spec.kernel) + ":s" +
                  std::to_string(spec.stride) + ":h" + std::to_string(hidden_channels);
  if (kind == BlockKind::kFrost) k += ":q" + std::to_string(squeeze_channels);
  if (kind == BlockKind::kCell) {
    k += ":c" + std::to_string(cell_channels) + ":g" + canonical_string(*spec.cell);
  }
  k += residual ? ":res" : ":nores";
  return k;
}

int64_t ResolvedNet::params() const {
  int64_t p = stem.params() + head.params() + classifier.params();
  for (const auto& b : blocks) p += b.params();
  return p;
}

int64_t ResolvedNet::macs() const {
  int64_t m = stem.macs() + head.macs() + classifier.macs();
  for (const auto& b : blocks) m += b.macs();
  return m;
}

ResolvedNet resolve(const NetSpec& net) {
  ResolvedNet r;
  r.spec = net;
  r.stem =
      make_conv("stem", net.in_channels, scaled_stem_channels(net.stem.channels, net.width_mult),
                net.stem.kernel, net.stem.stride, 1, net.input_size, true);
  int64_t channels = r.stem.out_channels;
  int64_t size = r.stem.out_size;
  for (size_t s = 0; s < net.stages.size(); ++s) {
    for (const auto& spec : net.stages[s].blocks) {
      ResolvedBlock b = resolve_block(spec, channels, size, net.width_mult);
      b.stage = static_cast<int>(s);
      channels = b.out_channels;
      size = b.out_size;
      r.blocks.push_back(std::move(b));
    }
  }
  r.head = make_conv("head", channels, net.head.channels, 1, 1, 1, size, true);
  r.classifier = make_conv("classifier", net.head.channels, net.num_classes, 1, 1, 1, 1, false);
  r.classifier.batch_norm = false;
  r.classifier.bias = true;
  return r;
}

}  // namespace frostnas
