#include "export/torchscript_export.h"

#include <functional>
#include <sstream>

#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "export/model_export.h"
#include "trainer/int8/int8_ops.h"

namespace frostnas {

namespace {

/// The reference inputs stored in the archive: seeded, batch 4, already normalised.
constexpr int64_t kReferenceBatch = 4;
constexpr uint64_t kReferenceSeed = 1234;

// TorchScript compiled from C++ has no `torch.quint8` / `torch.channels_last` names:
// the dtype and memory format are their enum values.
const std::string kQUInt8 = std::to_string(static_cast<int>(at::kQUInt8));
const std::string kFloat = std::to_string(static_cast<int>(at::kFloat));
const std::string kChannelsLast = std::to_string(static_cast<int>(at::MemoryFormat::ChannelsLast));

/// `ops.<namespace>.<op>` (what serialized TorchScript calls custom and quantized ops
/// by): the resolver of Module::define only knows `torch`.
struct OpsNamespaces : torch::jit::SugaredValue {
  std::string kind() const override { return "ops"; }
  std::shared_ptr<torch::jit::SugaredValue> attr(const torch::jit::SourceRange&,
                                                 torch::jit::GraphFunction&,
                                                 const std::string& field) override {
    return std::make_shared<torch::jit::BuiltinModule>(field);
  }
};

struct ScriptResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name,
                                                         torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
    if (name == "ops") return std::make_shared<OpsNamespaces>();
    return nullptr;
  }
};

/// Builds the source of `forward` line by line, registering the attributes it reads.
class ScriptBuilder {
 public:
  explicit ScriptBuilder(torch::jit::Module& module) : module_(module) {
    module_.register_attribute("training", c10::BoolType::get(), false);
  }

  /// Emits `v<k> = expr` and returns `v<k>`.
  std::string let(const std::string& expr) {
    const std::string v = "v" + std::to_string(next_++);
    body_ << "    " << v << " = " << expr << "\n";
    return v;
  }
  /// Registers `self.<name>` and returns that reference.
  std::string attr(const std::string& name, const c10::IValue& value) {
    module_.register_attribute(name, value.type(), value);
    return "self." + name;
  }
  std::string param(const std::string& name, const at::Tensor& t) {
    module_.register_parameter(name, t, /*is_buffer=*/false);
    return "self." + name;
  }
  /// "self.<name>_s, self.<name>_z", the two registered.
  std::string qparams(const std::string& name, QParams q) {
    return attr(name + "_s", q.scale) + ", " + attr(name + "_z", q.zero_point);
  }
  /// Defines `forward(self, x)` returning `result`; checks the input rank and channels.
  void define_forward(const std::string& prologue, int64_t channels, const std::string& result) {
    const std::string c = std::to_string(channels);
    module_.define(
        "def forward(self, x: Tensor) -> Tensor:\n"
        "    if x.dim() != 4 or x.size(1) != " +
            c + ":\n        ops.prim.RaiseException(\"expected a float [N, " + c +
            ", H, W] input\")\n" + prologue + body_.str() + "    return " + result + "\n",
        std::make_shared<ScriptResolver>());
  }

 private:
  torch::jit::Module& module_;
  std::ostringstream body_;
  int next_ = 0;
};

/// A layer role ("cell.n1.e0.conv") as part of an attribute name.
std::string ident(std::string role) {
  for (char& ch : role)
    if (ch == '.') ch = '_';
  return role;
}

std::string list2(int64_t v) {
  const std::string s = std::to_string(v);
  return "[" + s + ", " + s + "]";
}

// ---- INT8 ------------------------------------------------------------------------

std::string int8_conv(ScriptBuilder& s, const Int8ConvBnAct& c, const std::string& name,
                      const std::string& x) {
  const ConvLayer& l = c.layer();
  const ConvPacked packed = conv2d_prepack(make_qweight(c.codes(), c.scales(), c.weight_quant()),
                                           c.bias(), l.stride, l.padding(), l.groups);
  const std::string w = s.attr(name + "_w", c10::IValue(packed));
  return s.let(std::string("ops.quantized.") + (l.relu ? "conv2d_relu(" : "conv2d(") + x + ", " +
               w + ", " + s.qparams(name, c.out_qparams()) + ")");
}

std::string requantize(ScriptBuilder& s, const std::string& float_x, const std::string& name,
                       QParams q) {
  return s.let("torch.quantize_per_tensor(" + float_x + ".contiguous(memory_format=" +
               kChannelsLast + "), " + s.qparams(name, q) + ", " + kQUInt8 + ")");
}

std::string int8_cell_op(ScriptBuilder& s, const Int8CellOp& op, const std::string& name,
                         const std::string& x) {
  if (op.op == "skip") return x;
  if (op.op == "max_pool_3x3") {
    return s.let("torch.max_pool2d(" + x + ", [3, 3], [1, 1], [1, 1], [1, 1])");
  }
  if (op.op == "avg_pool_3x3") {
    // As Int8CellOp: QNNPACK's quantized average pool counts the padding, so that engine
    // averages in float.
    const bool float_pool = at::globalContext().qEngine() == at::QEngine::QNNPACK;
    const std::string y = float_pool
                              ? s.let("torch.avg_pool2d(" + x +
                                      ".dequantize(), [3, 3], [1, 1], [1, 1], False, False)")
                              : s.let("torch.avg_pool2d(" + x +
                                      ", [3, 3], [1, 1], [1, 1], False, False).dequantize()");
    return requantize(s, y, name, *op.out);
  }
  if (op.op == "se") {
    const std::string p = s.let("torch.adaptive_avg_pool2d(" + x + ", [1, 1])");
    const std::string r = int8_conv(s, op.convs.at(0), name + "_reduce", p);
    const std::string e = int8_conv(s, op.convs.at(1), name + "_expand", r);
    const std::string g = s.let("torch.sigmoid(" + e + ")");
    return s.let("ops.quantized.mul(" + x + ", " + g + ", " + s.qparams(name, *op.out) + ")");
  }
  if (op.op == "conv_1x1" || op.op == "dwconv_3x3" || op.op == "dwconv_5x5") {
    return int8_conv(s, op.convs.at(0), name, x);
  }
  refuse_cell_op(op.op, ExportFormat::kTorchScript);
}

std::string int8_cell(ScriptBuilder& s, const Int8Cell& cell, const std::string& name,
                      const std::string& x) {
  std::vector<std::string> states{cell.pre() ? int8_conv(s, *cell.pre(), name + "_pre", x) : x};
  std::string out;
  for (size_t i = 0; i < cell.ops().size(); ++i) {
    const std::string node = name + "_n" + std::to_string(i + 1);
    std::string sum;
    for (size_t k = 0; k < cell.ops()[i].size(); ++k) {
      const std::string edge = node + "_e" + std::to_string(k);
      const std::string y =
          int8_cell_op(s, cell.ops()[i][k], edge, states.at(cell.genotype().nodes[i][k].input));
      sum = k == 0 ? y
                   : s.let("ops.quantized.add(" + sum + ", " + y + ", " +
                           s.qparams(edge + "_add", cell.node_adds()[i][k - 1]) + ")");
    }
    states.push_back(sum);
    out = i == 0 ? sum
                 : s.let("ops.quantized.add(" + out + ", " + sum + ", " +
                         s.qparams(node + "_out", cell.out_adds()[i - 1]) + ")");
  }
  return out;
}

std::string int8_block(ScriptBuilder& s, const Int8Block& b, const std::string& name,
                       const std::string& x) {
  std::string out = x;
  if (b.squeeze()) {
    const std::string sq = int8_conv(s, *b.squeeze(), name + "_squeeze", x);
    out = s.let("ops.quantized.cat([" + sq + ", " + x + "], 1, " +
                s.qparams(name + "_cat", *b.cat_qparams()) + ")");
  }
  if (b.cell()) {
    const std::string c = int8_cell(s, *b.cell(), name + "_cell", x);
    const std::string join = s.qparams(name + "_cat", *b.cat_qparams());
    out = b.cell()->genotype().join == CellJoin::kConcat
              ? s.let("ops.quantized.cat([" + c + ", " + x + "], 1, " + join + ")")
              : s.let("ops.quantized.add(" + c + ", " + x + ", " + join + ")");
  }
  if (b.expand()) out = int8_conv(s, *b.expand(), name + "_expand", out);
  out = int8_conv(s, b.depthwise(), name + "_depthwise", out);
  out = int8_conv(s, b.project(), name + "_project", out);
  if (b.add_qparams()) {
    out = s.let("ops.quantized.add(" + out + ", " + x + ", " +
                s.qparams(name + "_add", *b.add_qparams()) + ")");
  }
  return out;
}

// ---- FP32 ------------------------------------------------------------------------

std::string float_conv(ScriptBuilder& s, const FoldedConv& c, const std::string& name,
                       const std::string& x) {
  const ConvLayer& l = c.layer();
  const std::string y = s.let("torch.conv2d(" + x + ", " + s.param(name + "_w", c.weight()) + ", " +
                              s.param(name + "_b", c.bias()) + ", " + list2(l.stride) + ", " +
                              list2(l.padding()) + ", [1, 1], " + std::to_string(l.groups) + ")");
  return l.relu ? s.let("torch.relu(" + y + ")") : y;
}

/// The cell of a FoldedBlock: its "cell.*" convs from convs[i] on (i advanced).
std::string float_cell(ScriptBuilder& s, const FoldedBlock& b, const std::string& name,
                       const std::string& x, size_t& i) {
  const ResolvedBlock& rb = b.resolved();
  const Genotype& g = *rb.spec.cell;
  auto conv = [&](const std::string& x_in) {
    const FoldedConv& c = b.convs()[i++];
    return float_conv(s, c, name + "_" + ident(c.layer().role.substr(5)), x_in);  // drop "cell."
  };
  std::vector<std::string> states{rb.cell_channels != rb.in_channels ? conv(x) : x};
  std::string out;
  for (const auto& node : g.nodes) {
    std::string sum;
    for (const auto& e : node) {
      const std::string& in = states.at(e.input);
      std::string y;
      if (e.op == "conv_1x1" || e.op == "dwconv_3x3" || e.op == "dwconv_5x5") {
        y = conv(in);
      } else if (e.op == "se") {
        const std::string r = conv(s.let("torch.adaptive_avg_pool2d(" + in + ", [1, 1])"));
        y = s.let(in + " * torch.sigmoid(" + conv(r) + ")");
      } else if (e.op == "skip") {
        y = in;
      } else if (e.op == "max_pool_3x3") {
        y = s.let("torch.max_pool2d(" + in + ", [3, 3], [1, 1], [1, 1])");
      } else if (e.op == "avg_pool_3x3") {
        y = s.let("torch.avg_pool2d(" + in + ", [3, 3], [1, 1], [1, 1], False, False)");
      } else {
        refuse_cell_op(e.op, ExportFormat::kTorchScriptFloat);
      }
      sum = sum.empty() ? y : s.let(sum + " + " + y);
    }
    states.push_back(sum);
    out = out.empty() ? sum : s.let(out + " + " + sum);
  }
  return out;
}

std::string float_block(ScriptBuilder& s, const FoldedBlock& b, const std::string& name,
                        const std::string& x) {
  const ResolvedBlock& rb = b.resolved();
  size_t i = 0;
  auto conv = [&](const std::string& x_in) {
    const FoldedConv& c = b.convs()[i++];
    return float_conv(s, c, name + "_" + c.layer().role, x_in);
  };
  std::string out = x;
  if (rb.kind == BlockKind::kFrost) out = s.let("torch.cat([" + conv(x) + ", " + x + "], 1)");
  if (rb.kind == BlockKind::kCell) {
    const std::string c = float_cell(s, b, name + "_cell", x, i);
    out = rb.spec.cell->join == CellJoin::kConcat ? s.let("torch.cat([" + c + ", " + x + "], 1)")
                                                  : s.let(c + " + " + x);
  }
  if (rb.kind != BlockKind::kDepthwise) out = conv(out);
  out = conv(out);
  out = conv(out);
  return rb.residual ? s.let(out + " + " + x) : out;
}

std::string archive_bytes(const torch::jit::Module& module, const NetSpec& spec,
                          const std::string& engine, const std::string& weight_quant,
                          const InputInfo& input,
                          const std::function<at::Tensor(const at::Tensor&)>& forward) {
  torch::manual_seed(kReferenceSeed);
  const at::Tensor inputs =
      torch::randn({kReferenceBatch, spec.in_channels, spec.input_size, spec.input_size});
  c10::Dict<std::string, at::Tensor> reference;
  reference.insert("inputs", inputs);
  reference.insert("logits", forward(inputs).contiguous());
  const auto ref_bytes = torch::jit::pickle_save(c10::IValue(reference));
  torch::jit::ExtraFilesMap extra{
      {kScriptArchFile, to_json(spec).dump(2) + "\n"},
      {kScriptEngineFile, engine},
      {kScriptWeightQuantFile, weight_quant},
      {kScriptInputFile, to_json(input).dump(2) + "\n"},
      {kScriptReferenceFile, std::string(ref_bytes.begin(), ref_bytes.end())}};
  std::ostringstream out;
  module.save(out, extra);
  return out.str();
}

}  // namespace

torch::jit::Module int8_script_module(const Int8Net& net) {
  QEngineGuard guard(net.engine());
  torch::jit::Module module("FrostnasInt8Net");
  ScriptBuilder s(module);
  const std::string prologue = "    q = torch.quantize_per_tensor(x.to(" + kFloat +
                               ").contiguous(memory_format=" + kChannelsLast + "), " +
                               s.qparams("input", net.input_qparams()) + ", " + kQUInt8 + ")\n";
  std::string y = int8_conv(s, net.stem(), "stem", "q");
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    y = int8_block(s, net.blocks()[i], "b" + std::to_string(i), y);
  }
  y = s.let("torch.adaptive_avg_pool2d(" + int8_conv(s, net.head(), "head", y) + ", [1, 1])");
  y = int8_conv(s, net.classifier(), "classifier", y);
  s.define_forward(prologue, net.spec().in_channels, "torch.flatten(" + y + ".dequantize(), 1)");
  module.eval();
  return module;
}

torch::jit::Module float_script_module(const FoldedNet& net) {
  torch::jit::Module module("FrostnasFloatNet");
  ScriptBuilder s(module);
  const std::string prologue = "    q = x.contiguous(memory_format=" + kChannelsLast + ")\n";
  std::string y = float_conv(s, net.stem(), "stem", "q");
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    y = float_block(s, net.blocks()[i], "b" + std::to_string(i), y);
  }
  y = s.let("torch.adaptive_avg_pool2d(" + float_conv(s, net.head(), "head", y) + ", [1, 1])");
  y = float_conv(s, net.classifier(), "classifier", y);
  s.define_forward(prologue, net.spec().in_channels, "torch.flatten(" + y + ", 1)");
  module.eval();
  return module;
}

std::string int8_torchscript_bytes(const Int8Net& net, const InputInfo& input) {
  const torch::jit::Module module = int8_script_module(net);
  return archive_bytes(module, net.spec(), to_string(net.engine()), to_string(net.weight_quant()),
                       input, [&](const at::Tensor& x) {
                         QEngineGuard guard(net.engine());
                         return net.forward(x);
                       });
}

std::string float_torchscript_bytes(const FoldedNet& net, const InputInfo& input) {
  const torch::jit::Module module = float_script_module(net);
  return archive_bytes(module, net.spec(), "none", "none", input,
                       [&](const at::Tensor& x) { return net.forward(x); });
}

}  // namespace frostnas
