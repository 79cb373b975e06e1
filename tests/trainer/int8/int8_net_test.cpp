#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/json_reader.h"
#include "space/frost_net.h"
#include "tests/trainer/int8/int8_test_util.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/int8/int8_ops.h"
#include "trainer/quant/qat_net.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

namespace fs = std::filesystem;

/// A QAT-trained, frozen tiny net and a test batch.
struct Trained {
  QatNet net{nullptr};
  torch::Tensor x;
};

Trained trained_net(QuantEngine engine, uint64_t seed,
                    WeightQuant weights = WeightQuant::kPerChannel) {
  torch::manual_seed(seed);
  Trained t;
  t.net = QatNet(tiny_net(), engine, weights);
  perturb_bn(*t.net, seed + 1);
  torch::manual_seed(seed + 2);
  t.net->enable_qat();
  t.net->train();
  torch::optim::SGD opt(t.net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int i = 0; i < 5; ++i) {
    auto x = torch::randn({8, 1, 28, 28});
    auto target = torch::randint(0, 10, {8});
    auto loss = torch::nn::functional::cross_entropy(t.net->forward(x), target);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  t.net->freeze_observers();
  t.net->freeze_bn();
  t.net->eval();
  t.x = torch::randn({4, 1, 28, 28});
  return t;
}

double net_error_steps(QuantEngine engine, uint64_t seed, WeightQuant weights) {
  Trained t = trained_net(engine, seed, weights);
  torch::NoGradGuard no_grad;
  auto y_fq = t.net->forward(t.x);
  Int8Net int8 = convert_to_int8(*t.net);
  EXPECT_EQ(int8.weight_quant(), weights);
  auto y = int8.forward(t.x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, 10}));
  const double scale = int8.classifier().out_qparams().scale;
  EXPECT_GT((y_fq.max() - y_fq.min()).item<double>() / scale, 40.0);
  return (y - y_fq).abs().max().item<double>() / scale;
}

std::string temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("frostnas_int8_test_" + name);
  fs::remove_all(d);
  return d.string();
}

void expect_input_error(const std::function<void()>& f, const std::string& prefix) {
  try {
    f();
    ADD_FAILURE() << "no InputError, expected " << prefix;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
  }
}

}  // namespace

TEST(Int8Net, LogitsMatchFakeQuantOneDNN) {
  for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
    const double steps = net_error_steps(QuantEngine::kOneDNN, 300, weights);
    std::printf("onednn  %-11s whole net: max logit error %.3f steps\n", to_string(weights).c_str(),
                steps);
    EXPECT_LE(steps, 3.0) << to_string(weights);
  }
}

TEST(Int8Net, LogitsMatchFakeQuantQNNPACK) {
  if (!quant_engine_available(QuantEngine::kQNNPACK)) GTEST_SKIP() << "no QNNPACK";
  for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
    const double steps = net_error_steps(QuantEngine::kQNNPACK, 400, weights);
    std::printf("qnnpack %-11s whole net: max logit error %.3f steps\n", to_string(weights).c_str(),
                steps);
    EXPECT_LE(steps, 3.0) << to_string(weights);
  }
}

TEST(Int8Net, PerTensorWeightsRunAsPerTensorQuantizedTensors) {
  Trained t = trained_net(QuantEngine::kOneDNN, 310, WeightQuant::kPerTensor);
  Int8Net int8 = convert_to_int8(*t.net);
  const Int8ConvBnAct& dw = int8.blocks().at(0).depthwise();
  ASSERT_EQ(dw.weight_quant(), WeightQuant::kPerTensor);
  // One scale for the whole folded weight: max|w| / 127 over every channel.
  EXPECT_TRUE(torch::equal(dw.scales(), dw.scales()[0].expand_as(dw.scales())));
  EXPECT_EQ(dw.codes().to(torch::kInt).abs().max().item<int>(), 127);
  const at::Tensor q = make_qweight(dw.codes(), dw.scales(), dw.weight_quant());
  EXPECT_EQ(q.qscheme(), at::kPerTensorAffine);
  EXPECT_DOUBLE_EQ(q.q_scale(), dw.scales()[0].item<double>());
  EXPECT_EQ(make_qweight(dw.codes(), dw.scales()).qscheme(), at::kPerChannelAffine);
  // Per channel, the same layer's channels each reach code 127; per tensor, most do not.
  auto [w, b] = t.net->block_modules().at(0)->depthwise->folded_weight_and_bias();
  auto [pc_codes, pc_scales] = quantize_weight_codes(w, WeightQuant::kPerChannel);
  auto channel_max = [](const at::Tensor& codes) {
    return codes.to(torch::kInt).abs().reshape({codes.size(0), -1}).amax(1);
  };
  EXPECT_EQ(channel_max(pc_codes).min().item<int>(), 127);
  EXPECT_LT(channel_max(dw.codes()).min().item<int>(), 127);
  EXPECT_THROW(make_qweight(pc_codes, pc_scales, WeightQuant::kPerTensor), c10::Error);
}

TEST(FoldedNet, MatchesFloatModels) {
  torch::manual_seed(500);
  FrostNet f(tiny_net());
  perturb_bn(*f, 501);
  f->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 1, 28, 28});
  auto ref = f->forward(x);
  FoldedNet folded = fold_to_fp32(*f);
  EXPECT_TRUE(torch::allclose(folded.forward(x), ref, 1e-4, 1e-4));

  QatNet q(tiny_net());
  copy_float_weights(*f, *q);
  q->eval();
  EXPECT_TRUE(torch::allclose(fold_to_fp32(*q).forward(x), ref, 1e-4, 1e-4));
  // Block-level folding, channels-last.
  auto h = f->stem->forward(x).contiguous(at::MemoryFormat::ChannelsLast);
  auto b0 = fold_to_fp32(*f->blocks->ptr(0)->as<FrostBlockImpl>());
  EXPECT_TRUE(torch::allclose(b0.forward(h), f->blocks->ptr(0)->as<FrostBlockImpl>()->forward(h),
                              1e-4, 1e-5));
}

TEST(Int8Artifact, RoundTripsBitExactly) {
  for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
    Trained t = trained_net(QuantEngine::kOneDNN, 600, weights);
    Int8Net int8 = convert_to_int8(*t.net);
    const std::string dir = temp_dir("roundtrip_" + to_string(weights));
    save_int8_model(int8, dir);
    EXPECT_TRUE(fs::exists(fs::path(dir) / kInt8ModelJson));
    EXPECT_TRUE(fs::exists(fs::path(dir) / kInt8TensorsFile));
    EXPECT_FALSE(fs::exists(fs::path(dir) / (std::string(kInt8ModelJson) + ".tmp")));
    EXPECT_EQ(load_json_file((fs::path(dir) / kInt8ModelJson).string()).at("weight_quant"),
              to_string(weights));
    Int8Net loaded = load_int8_model(dir);
    EXPECT_EQ(loaded.spec(), int8.spec());
    EXPECT_EQ(loaded.engine(), QuantEngine::kOneDNN);
    EXPECT_EQ(loaded.weight_quant(), weights);
    EXPECT_EQ(loaded.input_qparams(), int8.input_qparams());
    EXPECT_TRUE(torch::equal(loaded.forward(t.x), int8.forward(t.x))) << to_string(weights);
    fs::remove_all(dir);
  }
}

TEST(Int8Artifact, WeightSchemeIsCheckedAndDefaultsToPerChannel) {
  Trained t = trained_net(QuantEngine::kOneDNN, 610);
  Int8Net int8 = convert_to_int8(*t.net);
  const std::string dir = temp_dir("weight_quant");
  save_int8_model(int8, dir);
  const std::string json_path = (fs::path(dir) / kInt8ModelJson).string();
  nlohmann::json j = load_json_file(json_path);
  // Written before the field existed: per channel.
  j.erase("weight_quant");
  save_json_file(j, json_path);
  Int8Net old = load_int8_model(dir);
  EXPECT_EQ(old.weight_quant(), WeightQuant::kPerChannel);
  EXPECT_TRUE(torch::equal(old.forward(t.x), int8.forward(t.x)));
  j["weight_quant"] = "per_layer";
  save_json_file(j, json_path);
  expect_input_error([&] { load_int8_model(dir); },
                     json_path +
                         ": weight_quant: unknown value 'per_layer' (allowed: "
                         "per_channel, per_tensor)");
  // Per-channel scales are not one per-tensor scale.
  j["weight_quant"] = "per_tensor";
  save_json_file(j, json_path);
  expect_input_error([&] { load_int8_model(dir); },
                     (fs::path(dir) / kInt8TensorsFile).string() + ": stem.scales: expected one");
  fs::remove_all(dir);
}

TEST(Int8Artifact, BadArtifactsNameFileAndField) {
  Trained t = trained_net(QuantEngine::kOneDNN, 700);
  Int8Net int8 = convert_to_int8(*t.net);
  const std::string dir = temp_dir("bad");
  const std::string json_path = (fs::path(dir) / kInt8ModelJson).string();
  const std::string tensors_path = (fs::path(dir) / kInt8TensorsFile).string();
  expect_input_error([&] { load_int8_model(dir); }, json_path + ": cannot open");
  save_int8_model(int8, dir);

  std::ifstream in(json_path);
  const nlohmann::json good = nlohmann::json::parse(in);
  auto write_json = [&](const nlohmann::json& j) { std::ofstream(json_path) << j.dump(); };

  auto j = good;
  j["engine"] = "fbgemm";
  write_json(j);
  expect_input_error(
      [&] { load_int8_model(dir); },
      json_path + ": engine: unknown quantization engine 'fbgemm' (allowed: onednn, qnnpack)");
  j = good;
  j["convs"]["blocks.2.squeeze"]["zero_point"] = 300;
  write_json(j);
  expect_input_error(
      [&] { load_int8_model(dir); },
      json_path + ": convs.blocks.2.squeeze.zero_point: expected an integer in 0..255");
  j = good;
  j["blocks"][2].erase("cat");
  write_json(j);
  expect_input_error([&] { load_int8_model(dir); }, json_path + ": blocks.2.cat: missing");
  j = good;
  j["arch"]["head"]["channels"] = 32;
  write_json(j);
  expect_input_error(
      [&] { load_int8_model(dir); },
      tensors_path + ": head.codes: Char [64, 32, 1, 1], expected Char [32, 32, 1, 1]");
  std::ofstream(json_path) << "{ not json";
  expect_input_error([&] { load_int8_model(dir); }, json_path + ": invalid JSON");
  write_json(good);
  {
    std::ifstream tin(tensors_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(tin)), std::istreambuf_iterator<char>());
    std::ofstream(tensors_path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 3));
  }
  expect_input_error([&] { load_int8_model(dir); }, tensors_path + ": not a readable tensors file");
  fs::remove_all(dir);
}
