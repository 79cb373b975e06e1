#include "trainer/int8/int8_artifact.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <torch/csrc/jit/serialization/pickle.h>

#include "common/atomic_write.h"
#include "common/error.h"

namespace frostnas {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string first_line(const std::string& s) {
  auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

json qparams_json(QParams q) { return json{{"scale", q.scale}, {"zero_point", q.zero_point}}; }

/// (name, conv) for every conv of the network, in execution order.
std::vector<std::pair<std::string, const Int8ConvBnAct*>> named_convs(const Int8Net& net) {
  std::vector<std::pair<std::string, const Int8ConvBnAct*>> out;
  out.emplace_back("stem", &net.stem());
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    const auto& b = net.blocks()[i];
    const std::string p = "blocks." + std::to_string(i) + ".";
    if (b.squeeze()) out.emplace_back(p + "squeeze", &*b.squeeze());
    if (b.cell()) {
      const auto convs = b.cell()->convs();
      size_t k = 0;
      for (const auto& layer : b.resolved().convs) {
        if (layer.role.rfind("cell.", 0) == 0) out.emplace_back(p + layer.role, convs.at(k++));
      }
    }
    if (b.expand()) out.emplace_back(p + "expand", &*b.expand());
    out.emplace_back(p + "depthwise", &b.depthwise());
    out.emplace_back(p + "project", &b.project());
  }
  out.emplace_back("head", &net.head());
  out.emplace_back("classifier", &net.classifier());
  return out;
}

class Reader {
 public:
  Reader(std::string json_path, std::string tensors_path)
      : json_path_(std::move(json_path)), tensors_path_(std::move(tensors_path)) {}

  [[noreturn]] void fail_json(const std::string& field, const std::string& what) const {
    throw InputError(json_path_ + ": " + field + ": " + what);
  }

  const json& at(const json& j, const std::string& key, const std::string& field) const {
    if (!j.is_object() || !j.contains(key)) fail_json(field, "missing");
    return j.at(key);
  }

  QParams qparams(const json& j, const std::string& field) const {
    const json& s = at(j, "scale", field + ".scale");
    const json& z = at(j, "zero_point", field + ".zero_point");
    if (!s.is_number() || !(s.get<double>() > 0) || !std::isfinite(s.get<double>())) {
      fail_json(field + ".scale", "expected a positive finite number");
    }
    if (!z.is_number_integer() || z.get<int64_t>() < 0 || z.get<int64_t>() > 255) {
      fail_json(field + ".zero_point", "expected an integer in 0..255");
    }
    return {s.get<double>(), z.get<int64_t>()};
  }

  at::Tensor tensor(const c10::Dict<std::string, at::Tensor>& t, const std::string& key,
                    at::ScalarType dtype, at::IntArrayRef shape) const {
    auto it = t.find(key);
    if (it == t.end()) throw InputError(tensors_path_ + ": " + key + ": missing");
    const at::Tensor& v = it->value();
    if (v.scalar_type() != dtype || v.sizes() != shape) {
      std::ostringstream msg;
      msg << tensors_path_ << ": " << key << ": " << v.scalar_type() << " " << v.sizes()
          << ", expected " << dtype << " " << shape;
      throw InputError(msg.str());
    }
    return v;
  }

  const std::string& json_path() const { return json_path_; }
  const std::string& tensors_path() const { return tensors_path_; }

 private:
  std::string json_path_, tensors_path_;
};

/// The Int8Cell of block `rb` from its "cell" JSON and its convs (in the order of the
/// block's "cell.*" layers, already checked against their shapes).
Int8Cell load_cell(const Reader& rt, const json& jc, const std::string& field,
                   const ResolvedBlock& rb, std::vector<Int8ConvBnAct> convs) {
  const Genotype& g = *rb.spec.cell;
  auto array_of = [&](const json& j, size_t n, const std::string& f) -> const json& {
    if (!j.is_array() || j.size() != n) {
      rt.fail_json(f, "expected an array of " + std::to_string(n) + " entries");
    }
    return j;
  };
  const json& jops = array_of(rt.at(jc, "ops", field + ".ops"), g.nodes.size(), field + ".ops");
  const json& jnode_adds =
      array_of(rt.at(jc, "node_adds", field + ".node_adds"), g.nodes.size(), field + ".node_adds");
  const json& jout_adds =
      array_of(rt.at(jc, "out_adds", field + ".out_adds"), g.nodes.size() - 1, field + ".out_adds");
  size_t next = 0;
  std::optional<Int8ConvBnAct> pre;
  if (rb.cell_channels != rb.in_channels) pre = std::move(convs.at(next++));
  std::vector<std::vector<Int8CellOp>> ops;
  std::vector<std::vector<QParams>> node_adds;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const std::string fi = "[" + std::to_string(i) + "]";
    const json& jnode = array_of(jops[i], g.nodes[i].size(), field + ".ops" + fi);
    std::vector<Int8CellOp> node;
    for (size_t k = 0; k < g.nodes[i].size(); ++k) {
      const std::string fk = field + ".ops" + fi + "[" + std::to_string(k) + "]";
      Int8CellOp op;
      op.op = g.nodes[i][k].op;
      const size_t n = cell_op_convs(op.op, rb.cell_channels, rb.in_size).size();
      for (size_t c = 0; c < n; ++c) op.convs.push_back(std::move(convs.at(next++)));
      const bool needs_out = op.op == "avg_pool_3x3" || op.op == "se";
      if (needs_out) {
        op.out = rt.qparams(jnode[k], fk);
      } else if (!jnode[k].is_null()) {
        rt.fail_json(fk, "expected null (op " + op.op + " has no output qparams of its own)");
      }
      node.push_back(std::move(op));
    }
    ops.push_back(std::move(node));
    const std::string fa = field + ".node_adds" + fi;
    const json& jadds = array_of(jnode_adds[i], g.nodes[i].size() - 1, fa);
    std::vector<QParams> adds;
    for (size_t k = 0; k < jadds.size(); ++k) {
      adds.push_back(rt.qparams(jadds[k], fa + "[" + std::to_string(k) + "]"));
    }
    node_adds.push_back(std::move(adds));
  }
  std::vector<QParams> out_adds;
  for (size_t k = 0; k < jout_adds.size(); ++k) {
    out_adds.push_back(rt.qparams(jout_adds[k], field + ".out_adds[" + std::to_string(k) + "]"));
  }
  return Int8Cell(rb, std::move(pre), std::move(ops), std::move(node_adds), std::move(out_adds));
}

}  // namespace

void save_int8_model(const Int8Net& net, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create directory (" + ec.message() + ")");
  c10::Dict<std::string, at::Tensor> tensors;
  json convs = json::object();
  for (const auto& [name, conv] : named_convs(net)) {
    tensors.insert(name + ".codes", conv->codes());
    tensors.insert(name + ".scales", conv->scales());
    tensors.insert(name + ".bias", conv->bias());
    convs[name] = qparams_json(conv->out_qparams());
  }
  json blocks = json::array();
  for (const auto& b : net.blocks()) {
    json jb = json::object();
    jb["cat"] = b.cat_qparams() ? qparams_json(*b.cat_qparams()) : json(nullptr);
    jb["add"] = b.add_qparams() ? qparams_json(*b.add_qparams()) : json(nullptr);
    if (b.cell()) {
      json ops = json::array(), node_adds = json::array(), out_adds = json::array();
      for (size_t i = 0; i < b.cell()->ops().size(); ++i) {
        json node = json::array(), adds = json::array();
        for (const auto& op : b.cell()->ops()[i]) {
          node.push_back(op.out ? qparams_json(*op.out) : json(nullptr));
        }
        for (const auto& q : b.cell()->node_adds()[i]) adds.push_back(qparams_json(q));
        ops.push_back(node);
        node_adds.push_back(adds);
      }
      for (const auto& q : b.cell()->out_adds()) out_adds.push_back(qparams_json(q));
      jb["cell"] = {{"ops", ops}, {"node_adds", node_adds}, {"out_adds", out_adds}};
    }
    blocks.push_back(jb);
  }
  json j;
  j["format"] = kInt8ModelFormat;
  j["engine"] = to_string(net.engine());
  j["weight_quant"] = to_string(net.weight_quant());
  j["arch"] = to_json(net.spec());
  j["tensors"] = kInt8TensorsFile;
  j["input"] = qparams_json(net.input_qparams());
  j["convs"] = convs;
  j["blocks"] = blocks;
  const auto bytes = torch::jit::pickle_save(c10::IValue(tensors));
  atomic_write((fs::path(dir) / kInt8TensorsFile).string(),
               std::string(bytes.begin(), bytes.end()));
  atomic_write((fs::path(dir) / kInt8ModelJson).string(), j.dump(2) + "\n");
}

namespace {

/// The weight scheme of model.json; per_channel when absent (files written before the field).
WeightQuant read_weight_quant(const json& j, const std::string& json_path) {
  if (!j.contains("weight_quant")) return WeightQuant::kPerChannel;
  const json& w = j.at("weight_quant");
  if (!w.is_string()) {
    Reader(json_path, "").fail_json("weight_quant", "expected a string (per_channel, per_tensor)");
  }
  return parse_weight_quant(w.get<std::string>(), json_path + ": weight_quant");
}

/// model.json, with its format and engine checked.
json read_model_json(const std::string& json_path, QuantEngine& engine) {
  std::ifstream in(json_path);
  if (!in) throw InputError(json_path + ": cannot open (not an INT8 model directory?)");
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    throw InputError(json_path + ": invalid JSON (" + first_line(e.what()) + ")");
  }
  Reader r(json_path, "");
  const json& format = r.at(j, "format", "format");
  if (!format.is_string() || format.get<std::string>() != kInt8ModelFormat) {
    r.fail_json("format", std::string("expected '") + kInt8ModelFormat + "'");
  }
  const json& engine_j = r.at(j, "engine", "engine");
  if (!engine_j.is_string()) r.fail_json("engine", "expected a string (onednn, qnnpack)");
  engine = parse_quant_engine(engine_j.get<std::string>(), json_path + ": engine");
  if (!quant_engine_available(engine)) {
    r.fail_json("engine", "'" + to_string(engine) + "' is not available in this LibTorch build");
  }
  return j;
}

/// The path of the tensors file model.json names (a file inside `dir`).
std::string tensors_path_of(const json& j, const std::string& json_path, const std::string& dir) {
  Reader r(json_path, "");
  const json& name = r.at(j, "tensors", "tensors");
  if (!name.is_string() || name.get<std::string>().empty() ||
      name.get<std::string>().find('/') != std::string::npos) {
    r.fail_json("tensors", "expected a file name inside the model directory");
  }
  return (fs::path(dir) / name.get<std::string>()).string();
}

c10::Dict<std::string, at::Tensor> read_tensors_file(const std::string& path) {
  std::ifstream tin(path, std::ios::binary);
  if (!tin) throw InputError(path + ": cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(tin)), std::istreambuf_iterator<char>());
  c10::Dict<std::string, at::Tensor> tensors;
  try {
    auto root = torch::jit::pickle_load(bytes);
    if (!root.isGenericDict()) throw std::runtime_error("not a dictionary");
    for (const auto& kv : root.toGenericDict()) {
      if (!kv.key().isString() || !kv.value().isTensor()) {
        throw std::runtime_error("entries must map names to tensors");
      }
      tensors.insert(kv.key().toStringRef(), kv.value().toTensor());
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(path + ": not a readable tensors file (" + first_line(e.what()) + ")");
  }
  return tensors;
}

/// Builds the INT8 layers of a model directory from its JSON and tensors, checking each
/// against the architecture's shapes.
struct Int8Loader {
  Reader rt;
  const json& j;
  std::string tensors_path;
  c10::Dict<std::string, at::Tensor> tensors;
  QuantEngine engine;
  WeightQuant weights;

  Int8ConvBnAct conv(const std::string& name, const ConvLayer& layer) const {
    const json& convs = rt.at(j, "convs", "convs");
    const QParams out = rt.qparams(rt.at(convs, name, "convs." + name), "convs." + name);
    auto codes = rt.tensor(
        tensors, name + ".codes", at::kChar,
        {layer.out_channels, layer.in_channels / layer.groups, layer.kernel, layer.kernel});
    auto scales = rt.tensor(tensors, name + ".scales", at::kFloat, {layer.out_channels});
    if (!(scales > 0).all().item<bool>() || !torch::isfinite(scales).all().item<bool>()) {
      throw InputError(tensors_path + ": " + name + ".scales: expected positive finite values");
    }
    if (weights == WeightQuant::kPerTensor && !(scales == scales[0]).all().item<bool>()) {
      throw InputError(tensors_path + ": " + name +
                       ".scales: expected one value repeated (weight_quant is per_tensor)");
    }
    auto bias = rt.tensor(tensors, name + ".bias", at::kFloat, {layer.out_channels});
    return Int8ConvBnAct(layer, codes, scales, bias, out, engine, weights);
  }

  /// The add quantizer of a residual block; null otherwise.
  std::optional<QParams> add(const ResolvedBlock& rb, const json& jb, const std::string& p) const {
    const json& ja = rt.at(jb, "add", p + ".add");
    if (rb.residual) return rt.qparams(ja, p + ".add");
    if (!ja.is_null()) rt.fail_json(p + ".add", "expected null (block is not residual)");
    return std::nullopt;
  }

  Int8Block block(const ResolvedBlock& rb, const json& jb, const std::string& p) const {
    std::optional<Int8ConvBnAct> squeeze, expand, depthwise, project;
    std::vector<Int8ConvBnAct> cell_convs;
    for (const auto& c : rb.convs) {
      auto layer = conv(p + "." + c.role, c);
      if (c.role.rfind("cell.", 0) == 0) cell_convs.push_back(std::move(layer));
      if (c.role == "squeeze") squeeze = std::move(layer);
      if (c.role == "expand") expand = std::move(layer);
      if (c.role == "depthwise") depthwise = std::move(layer);
      if (c.role == "project") project = std::move(layer);
    }
    const json& jc = rt.at(jb, "cat", p + ".cat");
    if (rb.kind == BlockKind::kCell) {
      const QParams join = rt.qparams(jc, p + ".cat");
      std::optional<QParams> cell_add = add(rb, jb, p);
      Int8Cell cell =
          load_cell(rt, rt.at(jb, "cell", p + ".cell"), p + ".cell", rb, std::move(cell_convs));
      return Int8Block(rb, std::move(cell), std::move(expand), std::move(*depthwise),
                       std::move(*project), join, cell_add, engine);
    }
    std::optional<QParams> cat;
    if (rb.kind == BlockKind::kFrost) {
      cat = rt.qparams(jc, p + ".cat");
    } else if (!jc.is_null()) {
      rt.fail_json(p + ".cat", "expected null (block has no squeeze branch)");
    }
    std::optional<QParams> block_add = add(rb, jb, p);
    return Int8Block(rb, std::move(squeeze), std::move(expand), std::move(*depthwise),
                     std::move(*project), cat, block_add, engine);
  }
};

}  // namespace

Int8Net load_int8_model(const std::string& dir) {
  const std::string json_path = (fs::path(dir) / kInt8ModelJson).string();
  QuantEngine engine;
  const json j = read_model_json(json_path, engine);
  const NetSpec spec =
      net_spec_from_json(Reader(json_path, "").at(j, "arch", "arch"), json_path + ": arch");
  const ResolvedNet resolved = resolve(spec);
  const std::string tensors_path = tensors_path_of(j, json_path, dir);
  const Int8Loader load{Reader(json_path, tensors_path), j,      tensors_path,
                        read_tensors_file(tensors_path), engine, read_weight_quant(j, json_path)};

  load.rt.at(j, "convs", "convs");
  const json& jblocks = load.rt.at(j, "blocks", "blocks");
  if (!jblocks.is_array() || jblocks.size() != resolved.blocks.size()) {
    load.rt.fail_json("blocks", "expected an array of " + std::to_string(resolved.blocks.size()) +
                                    " entries (one per block of the architecture)");
  }
  // Built in execution order, so the first inconsistent layer is the one reported.
  const QParams input = load.rt.qparams(load.rt.at(j, "input", "input"), "input");
  Int8ConvBnAct stem = load.conv("stem", resolved.stem);
  std::vector<Int8Block> blocks;
  for (size_t i = 0; i < resolved.blocks.size(); ++i) {
    blocks.push_back(load.block(resolved.blocks[i], jblocks[i], "blocks." + std::to_string(i)));
  }
  Int8ConvBnAct head = load.conv("head", resolved.head);
  Int8ConvBnAct classifier = load.conv("classifier", resolved.classifier);
  return Int8Net(spec, engine, input, std::move(stem), std::move(blocks), std::move(head),
                 std::move(classifier));
}

}  // namespace frostnas
