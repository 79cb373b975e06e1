#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <torch/csrc/jit/serialization/pickle.h>

#include "common/atomic_write.h"
#include "common/json_reader.h"
#include "export/torchscript_export.h"
#include "tests/export/export_fixtures.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

namespace fs = std::filesystem;

std::vector<QuantEngine> engines() {
  std::vector<QuantEngine> e{QuantEngine::kOneDNN};
  if (quant_engine_available(QuantEngine::kQNNPACK)) e.push_back(QuantEngine::kQNNPACK);
  return e;
}

torch::jit::Module load_archive(const std::string& bytes, torch::jit::ExtraFilesMap& extra) {
  std::istringstream in(bytes);
  return torch::jit::load(in, torch::kCPU, extra);
}

at::Tensor run(torch::jit::Module& m, const at::Tensor& x) { return m.forward({x}).toTensor(); }

/// Exit status and output of a shell command.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int raw = ::pclose(pipe);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out};
}

}  // namespace

TEST(TorchScriptExport, Int8LogitsEqualInt8NetBitForBit) {
  for (QuantEngine engine : engines()) {
    for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
      SCOPED_TRACE(to_string(engine) + " " + to_string(weights));
      QatNet qat = trained_export_net(engine, 70, weights);
      const Int8Net net = convert_to_int8(*qat);
      ASSERT_EQ(net.weight_quant(), weights);
      // Every block kind is exported.
      std::set<BlockKind> kinds;
      for (const auto& b : net.resolved().blocks) kinds.insert(b.kind);
      EXPECT_EQ(kinds.size(), 4u);

      const std::string bytes = int8_torchscript_bytes(net, export_input_info());
      QEngineGuard guard(engine);  // weights are repacked for the engine current at load
      torch::jit::ExtraFilesMap extra{{kScriptArchFile, ""},
                                      {kScriptEngineFile, ""},
                                      {kScriptWeightQuantFile, ""},
                                      {kScriptInputFile, ""},
                                      {kScriptReferenceFile, ""}};
      torch::jit::Module m = load_archive(bytes, extra);
      torch::manual_seed(5);
      const auto x = torch::randn({5, 1, 16, 16});
      const auto expected = net.forward(x);
      const auto y = run(m, x);
      EXPECT_TRUE(torch::equal(y, expected))
          << "max |diff| " << (y - expected).abs().max().item<double>();
      EXPECT_TRUE(torch::equal(run(m, x.slice(0, 0, 1)), net.forward(x.slice(0, 0, 1))));

      EXPECT_EQ(extra[kScriptEngineFile], to_string(engine));
      EXPECT_EQ(extra[kScriptWeightQuantFile], to_string(weights));
      EXPECT_EQ(net_spec_from_json(nlohmann::json::parse(extra[kScriptArchFile]), "arch"),
                net.spec());
      EXPECT_EQ(nlohmann::json::parse(extra[kScriptInputFile]).at("mean"),
                nlohmann::json::array({0.25}));
      const auto ref_bytes = extra[kScriptReferenceFile];
      const auto ref =
          torch::jit::pickle_load(std::vector<char>(ref_bytes.begin(), ref_bytes.end()))
              .toGenericDict();
      const auto inputs = ref.at("inputs").toTensor();
      EXPECT_EQ(inputs.sizes(), at::IntArrayRef({4, 1, 16, 16}));
      EXPECT_TRUE(torch::equal(run(m, inputs), ref.at("logits").toTensor()));
      EXPECT_GT(ref.at("logits").toTensor().std().item<double>(), 0.0);
    }
  }
}

TEST(TorchScriptExport, RejectsInputOfTheWrongShape) {
  QatNet qat = trained_export_net(QuantEngine::kOneDNN, 71);
  torch::jit::Module m = int8_script_module(convert_to_int8(*qat));
  QEngineGuard guard(QuantEngine::kOneDNN);
  EXPECT_THROW(run(m, torch::randn({2, 3, 16, 16})), std::exception);  // torch::jit::JITException
  EXPECT_THROW(run(m, torch::randn({1, 16, 16})), std::exception);
}

TEST(TorchScriptExport, FloatMatchesFoldedNet) {
  QatNet qat = trained_export_net(QuantEngine::kOneDNN, 72);
  const FoldedNet folded = fold_to_fp32(*qat);
  torch::jit::ExtraFilesMap extra{{kScriptEngineFile, ""}};
  torch::jit::Module m = load_archive(float_torchscript_bytes(folded, export_input_info()), extra);
  EXPECT_EQ(extra[kScriptEngineFile], "none");
  torch::manual_seed(6);
  const auto x = torch::randn({3, 1, 16, 16});
  torch::NoGradGuard no_grad;
  const auto expected = folded.forward(x);
  const auto y = run(m, x);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5))
      << "max |diff| " << (y - expected).abs().max().item<double>();
  // Its parameters are the folded weights (stem, blocks, head, classifier), visible to
  // whoever quantizes it elsewhere.
  size_t convs = 3;
  for (const auto& b : folded.blocks()) convs += b.convs().size();
  EXPECT_EQ(m.parameters().size(), 2 * convs);
}

TEST(TorchScriptExport, LoadsInPythonWithTheSameLogits) {
  if (shell("/usr/bin/python3 -c 'import torch'").first != 0)
    GTEST_SKIP() << "python3-torch is not installed: the Python load is not checked";
  QatNet qat = trained_export_net(QuantEngine::kOneDNN, 73);
  const Int8Net net = convert_to_int8(*qat);
  const std::string dir = export_temp_dir("py_ts");
  const std::string path = (fs::path(dir) / "model.pt").string();
  atomic_write(path, int8_torchscript_bytes(net, export_input_info()));
  // The reference logits in the archive are Int8Net's: equal means bit-exact in Python.
  const auto [status, out] = shell(
      "/usr/bin/python3 -c \"import io, sys, torch\n"
      "torch.backends.quantized.engine = 'onednn'\n"
      "extra = {'reference.pt': '', 'engine': ''}\n"
      "m = torch.jit.load(sys.argv[1], _extra_files=extra)\n"
      "ref = torch.load(io.BytesIO(extra['reference.pt']))\n"
      "y = m(ref['inputs'])\n"
      "print(extra['engine'].decode(), torch.equal(y, ref['logits']), "
      "float((y - ref['logits']).abs().max()))\" " +
      path);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.rfind("onednn True 0.0", 0), 0u) << out;
  fs::remove_all(dir);
}
