#include "trainer/int8/int8_artifact.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <torch/csrc/jit/serialization/pickle.h>

#include "space/error.h"

namespace frostnas {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string first_line(const std::string& s) {
  auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(path + ": cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw InputError(path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot rename " + tmp + " into place");
  }
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
    blocks.push_back(jb);
  }
  json j;
  j["format"] = kInt8ModelFormat;
  j["engine"] = to_string(net.engine());
  j["arch"] = to_json(net.spec());
  j["tensors"] = kInt8TensorsFile;
  j["input"] = qparams_json(net.input_qparams());
  j["convs"] = convs;
  j["blocks"] = blocks;
  const auto bytes = torch::jit::pickle_save(c10::IValue(tensors));
  write_atomically((fs::path(dir) / kInt8TensorsFile).string(),
                   std::string(bytes.begin(), bytes.end()));
  write_atomically((fs::path(dir) / kInt8ModelJson).string(), j.dump(2) + "\n");
}

Int8Net load_int8_model(const std::string& dir) {
  const std::string json_path = (fs::path(dir) / kInt8ModelJson).string();
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
  const QuantEngine engine =
      parse_quant_engine(engine_j.get<std::string>(), json_path + ": engine");
  if (!quant_engine_available(engine)) {
    r.fail_json("engine", "'" + to_string(engine) + "' is not available in this LibTorch build");
  }
  const NetSpec spec = net_spec_from_json(r.at(j, "arch", "arch"), json_path + ": arch");
  const ResolvedNet resolved = resolve(spec);
  const json& tensors_name = r.at(j, "tensors", "tensors");
  if (!tensors_name.is_string() || tensors_name.get<std::string>().empty() ||
      tensors_name.get<std::string>().find('/') != std::string::npos) {
    r.fail_json("tensors", "expected a file name inside the model directory");
  }
  const std::string tensors_path = (fs::path(dir) / tensors_name.get<std::string>()).string();
  Reader rt(json_path, tensors_path);

  std::ifstream tin(tensors_path, std::ios::binary);
  if (!tin) throw InputError(tensors_path + ": cannot open");
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
    throw InputError(tensors_path + ": not a readable tensors file (" + first_line(e.what()) + ")");
  }

  const json& convs = rt.at(j, "convs", "convs");
  auto make_conv = [&](const std::string& name, const ConvLayer& layer) {
    const QParams out = rt.qparams(rt.at(convs, name, "convs." + name), "convs." + name);
    auto codes = rt.tensor(
        tensors, name + ".codes", at::kChar,
        {layer.out_channels, layer.in_channels / layer.groups, layer.kernel, layer.kernel});
    auto scales = rt.tensor(tensors, name + ".scales", at::kFloat, {layer.out_channels});
    if (!(scales > 0).all().item<bool>() || !torch::isfinite(scales).all().item<bool>()) {
      throw InputError(tensors_path + ": " + name + ".scales: expected positive finite values");
    }
    auto bias = rt.tensor(tensors, name + ".bias", at::kFloat, {layer.out_channels});
    return Int8ConvBnAct(layer, codes, scales, bias, out, engine);
  };

  const json& jblocks = rt.at(j, "blocks", "blocks");
  if (!jblocks.is_array() || jblocks.size() != resolved.blocks.size()) {
    rt.fail_json("blocks", "expected an array of " + std::to_string(resolved.blocks.size()) +
                               " entries (one per block of the architecture)");
  }
  // Built in execution order, so the first inconsistent layer is the one reported.
  const QParams input = rt.qparams(rt.at(j, "input", "input"), "input");
  Int8ConvBnAct stem = make_conv("stem", resolved.stem);
  std::vector<Int8Block> blocks;
  for (size_t i = 0; i < resolved.blocks.size(); ++i) {
    const ResolvedBlock& rb = resolved.blocks[i];
    const std::string p = "blocks." + std::to_string(i);
    const json& jb = jblocks[i];
    std::optional<Int8ConvBnAct> squeeze, expand;
    std::optional<QParams> cat, add;
    std::optional<Int8ConvBnAct> depthwise, project;
    for (const auto& c : rb.convs) {
      auto conv = make_conv(p + "." + c.role, c);
      if (c.role == "squeeze") squeeze = std::move(conv);
      if (c.role == "expand") expand = std::move(conv);
      if (c.role == "depthwise") depthwise = std::move(conv);
      if (c.role == "project") project = std::move(conv);
    }
    const json& jc = rt.at(jb, "cat", p + ".cat");
    if (rb.kind == BlockKind::kFrost) {
      cat = rt.qparams(jc, p + ".cat");
    } else if (!jc.is_null()) {
      rt.fail_json(p + ".cat", "expected null (block has no squeeze branch)");
    }
    const json& ja = rt.at(jb, "add", p + ".add");
    if (rb.residual) {
      add = rt.qparams(ja, p + ".add");
    } else if (!ja.is_null()) {
      rt.fail_json(p + ".add", "expected null (block is not residual)");
    }
    blocks.emplace_back(rb, std::move(squeeze), std::move(expand), std::move(*depthwise),
                        std::move(*project), cat, add, engine);
  }
  Int8ConvBnAct head = make_conv("head", resolved.head);
  Int8ConvBnAct classifier = make_conv("classifier", resolved.classifier);
  return Int8Net(spec, engine, input, std::move(stem), std::move(blocks), std::move(head),
                 std::move(classifier));
}

}  // namespace frostnas
