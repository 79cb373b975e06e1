#include "export/onnx_export.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "export/model_export.h"
#include "trainer/int8/int8_cell.h"

namespace frostnas {

namespace {

/// A float tensor of the graph holding quantized values (a DequantizeLinear output),
/// with the qparams it was quantized to.
struct QTensor {
  std::string name;
  QParams q;
};

onnx::AttributeProto int_attr(const std::string& name, int64_t v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

onnx::AttributeProto ints_attr(const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}

/// Builds the QDQ graph: initializers, nodes, and the Q -> DQ pair of every quantized
/// activation. Names are unique by construction (layer paths).
class QdqGraph {
 public:
  explicit QdqGraph(onnx::GraphProto& graph) : g_(graph) {}

  /// Adds `op_type(inputs) -> output` and returns `output`.
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs,
                   const std::string& output,
                   const std::vector<onnx::AttributeProto>& attributes = {}) {
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(op_type);
    n->set_name(output);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    for (const auto& a : attributes) *n->add_attribute() = a;
    return output;
  }

  /// An initializer of `type` from raw little-endian bytes.
  std::string initializer(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                          const void* data, size_t bytes) {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
    return name;
  }
  std::string floats(const std::string& name, const std::vector<float>& v,
                     const std::vector<int64_t>& dims) {
    return initializer(name, onnx::TensorProto::FLOAT, dims, v.data(), v.size() * sizeof(float));
  }

  /// float -> QuantizeLinear (uint8, `q`) -> DequantizeLinear, the latter named `name`.
  QTensor qdq(const std::string& float_in, const std::string& name, QParams q) {
    const std::string scale = floats(name + "_scale", {static_cast<float>(q.scale)}, {});
    const uint8_t zp = static_cast<uint8_t>(q.zero_point);
    const std::string zero =
        initializer(name + "_zero_point", onnx::TensorProto::UINT8, {}, &zp, 1);
    const std::string quantized = node("QuantizeLinear", {float_in, scale, zero}, name + "_q");
    return {node("DequantizeLinear", {quantized, scale, zero}, name), q};
  }

  /// An initializer of int8 or int32 `values` [c, ...] with zero points 0, through
  /// DequantizeLinear named `name`: per channel (axis 0) with `scales` [c], or per tensor
  /// (scalar scale and zero point) when `scales` holds one value.
  std::string dequantized(const std::string& name, const at::Tensor& values,
                          const std::vector<float>& scales) {
    const bool int32 = values.scalar_type() == at::kInt;
    const int32_t type = int32 ? onnx::TensorProto::INT32 : onnx::TensorProto::INT8;
    const at::Tensor v = values.contiguous();
    const std::string data = initializer(name + "_quantized", type, v.sizes().vec(), v.data_ptr(),
                                         v.numel() * v.element_size());
    const bool per_tensor = scales.size() == 1;
    const int64_t c = static_cast<int64_t>(scales.size());
    const std::vector<int64_t> dims = per_tensor ? std::vector<int64_t>{} : std::vector<int64_t>{c};
    const std::string scale = floats(name + "_scale", scales, dims);
    const std::vector<char> zeros(static_cast<size_t>(c) * v.element_size(), 0);
    const std::string zero =
        initializer(name + "_zero_point", type, dims, zeros.data(), zeros.size());
    if (per_tensor) return node("DequantizeLinear", {data, scale, zero}, name);
    return node("DequantizeLinear", {data, scale, zero}, name, {int_attr("axis", 0)});
  }

 private:
  onnx::GraphProto& g_;
};

std::vector<float> to_floats(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

/// Int8ConvBnAct: DQ(int8 weight) and DQ(int32 bias at input_scale * weight_scale, the
/// form onnxruntime fuses into QLinearConv) -> Conv (-> Relu) -> QDQ at the output qparams.
QTensor conv(QdqGraph& g, const Int8ConvBnAct& c, const std::string& name, const QTensor& x) {
  const ConvLayer& l = c.layer();
  std::vector<float> w_scales = to_floats(c.scales());
  // Per tensor: one scalar scale for the weight, and so for the bias.
  if (c.weight_quant() == WeightQuant::kPerTensor) w_scales.resize(1);
  const std::string w = g.dequantized(name + "_weight", c.codes(), w_scales);
  std::vector<float> b_scales(w_scales.size());
  for (size_t i = 0; i < b_scales.size(); ++i)
    b_scales[i] = static_cast<float>(x.q.scale * w_scales[i]);
  const at::Tensor b_scale_t = at::tensor(b_scales);
  const at::Tensor b_codes =
      at::round(c.bias() / b_scale_t)
          .clamp(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())
          .to(at::kInt);
  const std::string b = g.dequantized(name + "_bias", b_codes, b_scales);
  const int64_t p = l.padding();
  std::string y =
      g.node("Conv", {x.name, w, b}, name + "_conv",
             {ints_attr("kernel_shape", {l.kernel, l.kernel}),
              ints_attr("strides", {l.stride, l.stride}), ints_attr("pads", {p, p, p, p}),
              ints_attr("dilations", {1, 1}), int_attr("group", l.groups)});
  if (l.relu) y = g.node("Relu", {y}, name + "_relu");
  return g.qdq(y, name, c.out_qparams());
}

QTensor qadd(QdqGraph& g, const QTensor& a, const QTensor& b, const std::string& name, QParams q) {
  return g.qdq(g.node("Add", {a.name, b.name}, name + "_add"), name, q);
}

QTensor qcat(QdqGraph& g, const QTensor& a, const QTensor& b, const std::string& name, QParams q) {
  return g.qdq(g.node("Concat", {a.name, b.name}, name + "_concat", {int_attr("axis", 1)}), name,
               q);
}

std::vector<onnx::AttributeProto> pool3x3(bool average) {
  std::vector<onnx::AttributeProto> a{ints_attr("kernel_shape", {3, 3}),
                                      ints_attr("strides", {1, 1}),
                                      ints_attr("pads", {1, 1, 1, 1})};
  if (average) a.push_back(int_attr("count_include_pad", 0));
  return a;
}

QTensor cell_op(QdqGraph& g, const Int8CellOp& op, const std::string& name, const QTensor& x) {
  if (op.op == "skip") return x;
  // Quantized max pool keeps the input's qparams.
  if (op.op == "max_pool_3x3")
    return g.qdq(g.node("MaxPool", {x.name}, name + "_maxpool", pool3x3(false)), name, x.q);
  if (op.op == "avg_pool_3x3") {
    return g.qdq(g.node("AveragePool", {x.name}, name + "_avgpool", pool3x3(true)), name, *op.out);
  }
  if (op.op == "se") {
    const QTensor pooled =
        g.qdq(g.node("GlobalAveragePool", {x.name}, name + "_gap"), name + "_pooled", x.q);
    const QTensor r = conv(g, op.convs.at(0), name + "_reduce", pooled);
    const QTensor e = conv(g, op.convs.at(1), name + "_expand", r);
    const QTensor gate = g.qdq(g.node("Sigmoid", {e.name}, name + "_sigmoid"), name + "_gate",
                               QParams{kSigmoidScale, 0});
    return g.qdq(g.node("Mul", {x.name, gate.name}, name + "_mul"), name, *op.out);
  }
  if (op.op == "conv_1x1" || op.op == "dwconv_3x3" || op.op == "dwconv_5x5")
    return conv(g, op.convs.at(0), name, x);
  refuse_cell_op(op.op, ExportFormat::kOnnx);
}

QTensor cell(QdqGraph& g, const Int8Cell& c, const std::string& name, const QTensor& x) {
  std::vector<QTensor> states{c.pre() ? conv(g, *c.pre(), name + "_pre", x) : x};
  QTensor out;
  for (size_t i = 0; i < c.ops().size(); ++i) {
    const std::string node = name + "_n" + std::to_string(i + 1);
    QTensor sum;
    for (size_t k = 0; k < c.ops()[i].size(); ++k) {
      const std::string edge = node + "_e" + std::to_string(k);
      const QTensor y = cell_op(g, c.ops()[i][k], edge, states.at(c.genotype().nodes[i][k].input));
      sum = k == 0 ? y : qadd(g, sum, y, edge + "_sum", c.node_adds()[i][k - 1]);
    }
    states.push_back(sum);
    out = i == 0 ? sum : qadd(g, out, sum, node + "_out", c.out_adds()[i - 1]);
  }
  return out;
}

QTensor block(QdqGraph& g, const Int8Block& b, const std::string& name, const QTensor& x) {
  QTensor out = x;
  if (b.squeeze()) {
    out = qcat(g, conv(g, *b.squeeze(), name + "_squeeze", x), x, name + "_cat", *b.cat_qparams());
  }
  if (b.cell()) {
    const QTensor c = cell(g, *b.cell(), name + "_cell", x);
    out = b.cell()->genotype().join == CellJoin::kConcat
              ? qcat(g, c, x, name + "_cat", *b.cat_qparams())
              : qadd(g, c, x, name + "_join", *b.cat_qparams());
  }
  if (b.expand()) out = conv(g, *b.expand(), name + "_expand", out);
  out = conv(g, b.depthwise(), name + "_depthwise", out);
  out = conv(g, b.project(), name + "_project", out);
  if (b.add_qparams()) out = qadd(g, out, x, name + "_residual", *b.add_qparams());
  return out;
}

void set_tensor_type(onnx::ValueInfoProto* v, const std::string& name,
                     const std::vector<std::string>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (const auto& d : dims) {
    auto* dim = t->mutable_shape()->add_dim();
    if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])))
      dim->set_dim_value(std::stoll(d));
    else
      dim->set_dim_param(d);
  }
}

bool all_zero(const onnx::TensorProto& t) {
  const std::string& raw = t.raw_data();
  return t.int32_data_size() == 0 &&
         std::all_of(raw.begin(), raw.end(), [](char c) { return c == 0; });
}

std::vector<std::string> qdq_form_errors(const onnx::GraphProto& g) {
  std::map<std::string, std::string> producer;  // tensor -> op type
  std::map<std::string, std::vector<std::string>> consumers;
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& n : g.node()) {
    for (const auto& o : n.output()) producer[o] = n.op_type();
    for (const auto& i : n.input()) consumers[i].push_back(n.op_type());
  }
  for (const auto& t : g.initializer()) init[t.name()] = &t;
  auto made_by = [&](const std::string& name, const std::string& op) {
    auto it = producer.find(name);
    return it != producer.end() && it->second == op;
  };
  std::vector<std::string> errors;
  for (const auto& n : g.node()) {
    const std::string& op = n.op_type();
    const std::string where = op + " " + n.name() + ": ";
    if (op == "QuantizeLinear") {
      auto zp = init.find(n.input(2));
      if (zp == init.end() || zp->second->data_type() != onnx::TensorProto::UINT8)
        errors.push_back(where + "zero point is not a uint8 initializer");
      continue;
    }
    if (op == "DequantizeLinear") {
      auto v = init.find(n.input(0));
      if (v == init.end()) {
        if (!made_by(n.input(0), "QuantizeLinear"))
          errors.push_back(where + "input is neither QuantizeLinear output nor initializer");
        continue;
      }
      const int type = v->second->data_type();
      auto zp = init.find(n.input(2));
      if (type != onnx::TensorProto::INT8 && type != onnx::TensorProto::INT32)
        errors.push_back(where + "initializer is not int8 / int32");
      else if (zp == init.end() || !all_zero(*zp->second))
        errors.push_back(where + "zero points are not 0");
      continue;
    }
    const bool relu = op == "Relu";
    if (op != "Flatten") {
      for (const auto& c : consumers[n.output(0)])
        if (c != "QuantizeLinear" && !(c == "Relu" && op == "Conv"))
          errors.push_back(where + "output goes to " + c + ", not QuantizeLinear");
    }
    for (const auto& i : n.input())
      if (!made_by(i, relu ? "Conv" : "DequantizeLinear"))
        errors.push_back(where + "input " + i + " is not a " +
                         (relu ? "Conv" : "DequantizeLinear") + " output");
  }
  return errors;
}

void add_metadata(onnx::ModelProto& m, const std::string& key, const std::string& value) {
  auto* p = m.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

}  // namespace

std::string int8_onnx_bytes(const Int8Net& net, const InputInfo& input) {
  const NetSpec& spec = net.spec();
  onnx::ModelProto m;
  m.set_ir_version(onnx::IR_VERSION);
  m.set_producer_name("frostnas");
  m.set_model_version(1);
  m.set_doc_string("INT8 " + spec.name + " in QDQ form (frostnas export-model)");
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  add_metadata(m, "frostnas.arch", to_json(spec).dump());
  add_metadata(m, "frostnas.engine", to_string(net.engine()));
  add_metadata(m, "frostnas.weight_quant", to_string(net.weight_quant()));
  add_metadata(m, "frostnas.input", to_json(input).dump());

  onnx::GraphProto& graph = *m.mutable_graph();
  graph.set_name(spec.name);
  const std::string size = std::to_string(spec.input_size);
  set_tensor_type(graph.add_input(), "input", {"N", std::to_string(spec.in_channels), size, size});
  set_tensor_type(graph.add_output(), "logits", {"N", std::to_string(spec.num_classes)});

  QdqGraph g(graph);
  QTensor y = g.qdq("input", "input_quantized", net.input_qparams());
  y = conv(g, net.stem(), "stem", y);
  for (size_t i = 0; i < net.blocks().size(); ++i)
    y = block(g, net.blocks()[i], "b" + std::to_string(i), y);
  y = conv(g, net.head(), "head", y);
  // The quantized adaptive average pool keeps its input's qparams.
  y = g.qdq(g.node("GlobalAveragePool", {y.name}, "pool_gap"), "pool", y.q);
  y = conv(g, net.classifier(), "classifier", y);
  g.node("Flatten", {y.name}, "logits", {int_attr("axis", 1)});

  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw std::runtime_error("ONNX export: serialization failed");
  const OnnxModelSummary summary = check_onnx_model(bytes);
  if (!summary.qdq_errors.empty())
    throw std::runtime_error("ONNX export: not in QDQ form: " + summary.qdq_errors.front());
  return bytes;
}

OnnxModelSummary check_onnx_model(const std::string& bytes) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes)) throw std::runtime_error("not a serialized ONNX ModelProto");
  try {
    onnx::checker::check_model(m);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw std::runtime_error("ONNX checker: " + what.substr(0, what.find('\n')));
  }
  OnnxModelSummary s;
  for (const auto& o : m.opset_import())
    if (o.domain().empty()) s.opset = o.version();
  s.nodes = m.graph().node_size();
  std::set<std::string> types;
  for (const auto& n : m.graph().node()) types.insert(n.op_type());
  s.op_types.assign(types.begin(), types.end());
  s.qdq_errors = qdq_form_errors(m.graph());
  for (const auto& p : m.metadata_props()) s.metadata[p.key()] = p.value();
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "DequantizeLinear" || n.input_size() < 2) continue;
    auto v = init.find(n.input(0));
    auto scale = init.find(n.input(1));
    if (v == init.end() || scale == init.end() || v->second->data_type() != onnx::TensorProto::INT8)
      continue;
    ++(scale->second->dims_size() == 0 ? s.per_tensor_weights : s.per_channel_weights);
  }
  if (m.graph().output_size() == 1) {
    for (const auto& d : m.graph().output(0).type().tensor_type().shape().dim())
      s.output_shape.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.dim_param());
  }
  return s;
}

}  // namespace frostnas
