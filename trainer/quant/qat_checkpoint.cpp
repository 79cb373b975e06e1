#include "trainer/quant/qat_checkpoint.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include <torch/csrc/jit/serialization/pickle.h>

#include "common/atomic_write.h"
#include "common/error.h"

namespace frostnas {

namespace {

std::string first_line(const std::string& s) {
  auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open (no such file?)");
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Checkpoint {
  NetSpec spec;
  QuantEngine engine = QuantEngine::kOneDNN;
  WeightQuant weights = WeightQuant::kPerChannel;
  QatMode mode;
  c10::Dict<std::string, at::Tensor> tensors;
};

c10::IValue field(const c10::impl::GenericDict& d, const std::string& key,
                  const std::string& path) {
  auto it = d.find(c10::IValue(key));
  if (it == d.end()) throw InputError(path + ": field '" + key + "' missing");
  return it->value();
}

Checkpoint read_checkpoint(const std::string& path) {
  const auto bytes = read_bytes(path);
  c10::IValue root;
  try {
    root = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    throw InputError(path + ": not a readable QAT checkpoint (" + first_line(e.what()) + ")");
  }
  if (!root.isGenericDict()) throw InputError(path + ": not a QAT checkpoint (no dictionary)");
  const c10::impl::GenericDict d = root.toGenericDict();
  Checkpoint c;
  auto format = field(d, "format", path);
  if (!format.isString() || format.toStringRef() != kQatCheckpointFormat) {
    throw InputError(path + ": field 'format': expected '" + std::string(kQatCheckpointFormat) +
                     "'");
  }
  auto arch = field(d, "arch", path);
  if (!arch.isString()) throw InputError(path + ": field 'arch': expected a JSON string");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(arch.toStringRef());
  } catch (const std::exception& e) {
    throw InputError(path + ": field 'arch': invalid JSON (" + first_line(e.what()) + ")");
  }
  c.spec = net_spec_from_json(j, path + ": arch");
  auto engine = field(d, "engine", path);
  if (!engine.isString()) throw InputError(path + ": field 'engine': expected a string");
  c.engine = parse_quant_engine(engine.toStringRef(), path + ": field 'engine'");
  // Checkpoints written before the field existed quantized weights per channel.
  auto weights = d.find(c10::IValue(std::string("weight_quant")));
  if (weights != d.end()) {
    if (!weights->value().isString()) {
      throw InputError(path +
                       ": field 'weight_quant': expected a string (per_channel, per_tensor)");
    }
    c.weights = parse_weight_quant(weights->value().toStringRef(), path + ": field 'weight_quant'");
  }
  auto mode = field(d, "mode", path);
  if (!mode.isIntList() || mode.toIntList().size() != 4) {
    throw InputError(
        path + ": field 'mode': expected 4 integers (fold_bn, fake_quant, observers, bn_frozen)");
  }
  auto m = mode.toIntVector();
  c.mode = QatMode{m[0] != 0, m[1] != 0, m[2] != 0, m[3] != 0, c.weights};
  auto tensors = field(d, "tensors", path);
  if (!tensors.isGenericDict()) throw InputError(path + ": field 'tensors': expected a dictionary");
  for (const auto& kv : tensors.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor()) {
      throw InputError(path + ": field 'tensors': entries must map names to tensors");
    }
    c.tensors.insert(kv.key().toStringRef(), kv.value().toTensor());
  }
  return c;
}

void load_state(const Checkpoint& c, const std::string& path, QatNetImpl& net) {
  if (c.spec != net.spec()) throw InputError(path + ": field 'arch': differs from the network's");
  if (c.engine != net.engine()) {
    throw InputError(path + ": field 'engine': '" + to_string(c.engine) +
                     "' but the network uses '" + to_string(net.engine()) + "'");
  }
  if (c.weights != net.weight_quant()) {
    throw InputError(path + ": field 'weight_quant': '" + to_string(c.weights) +
                     "' but the network uses '" + to_string(net.weight_quant()) + "'");
  }
  torch::NoGradGuard no_grad;
  size_t used = 0;
  auto load = [&](const torch::OrderedDict<std::string, torch::Tensor>& dict) {
    for (const auto& item : dict) {
      auto it = c.tensors.find(item.key());
      if (it == c.tensors.end()) {
        throw InputError(path + ": field 'tensors." + item.key() + "' missing");
      }
      const at::Tensor& src = it->value();
      if (src.sizes() != item.value().sizes() || src.scalar_type() != item.value().scalar_type()) {
        std::ostringstream msg;
        msg << path << ": field 'tensors." << item.key() << "': " << src.scalar_type() << " "
            << src.sizes() << ", expected " << item.value().scalar_type() << " "
            << item.value().sizes();
        throw InputError(msg.str());
      }
      ++used;
    }
  };
  auto params = net.named_parameters();
  auto buffers = net.named_buffers();
  load(params);
  load(buffers);
  if (used != c.tensors.size()) {
    throw InputError(path + ": field 'tensors': " + std::to_string(c.tensors.size() - used) +
                     " entries that the network does not have");
  }
  // Every field checked: only now modify the network.
  for (auto& item : params) item.value().copy_(c.tensors.at(item.key()));
  for (auto& item : buffers) item.value().copy_(c.tensors.at(item.key()));
  net.set_mode(c.mode);
}

}  // namespace

void save_qat_checkpoint(QatNetImpl& net, const std::string& path) {
  c10::Dict<std::string, at::Tensor> tensors;
  for (const auto& item : net.named_parameters()) {
    tensors.insert(item.key(), item.value().detach().to(torch::kCPU).clone());
  }
  for (const auto& item : net.named_buffers()) {
    tensors.insert(item.key(), item.value().detach().to(torch::kCPU).clone());
  }
  const QatMode& m = net.mode();
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert(std::string("format"), std::string(kQatCheckpointFormat));
  root.insert(std::string("arch"), to_json(net.spec()).dump());
  root.insert(std::string("engine"), to_string(net.engine()));
  root.insert(std::string("weight_quant"), to_string(net.weight_quant()));
  root.insert(std::string("mode"),
              c10::IValue(std::vector<int64_t>{m.fold_bn, m.fake_quant, m.observers, m.bn_frozen}));
  root.insert(std::string("tensors"), c10::IValue(tensors));
  const std::vector<char> bytes = torch::jit::pickle_save(root);
  atomic_write(path, std::string(bytes.begin(), bytes.end()));
}

QatNet load_qat_checkpoint(const std::string& path, torch::Device device) {
  Checkpoint c = read_checkpoint(path);
  QatNet net(c.spec, c.engine, c.weights);
  load_state(c, path, *net);
  net->to(device);
  return net;
}

void load_qat_checkpoint_into(const std::string& path, QatNetImpl& net) {
  load_state(read_checkpoint(path), path, net);
}

}  // namespace frostnas
