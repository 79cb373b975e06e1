#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "space/frost_net.h"
#include "space/resolved_net.h"
#include "tests/common/tiny_nets.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/quant/qat_conv_bn_act.h"
#include "trainer/quant/qat_net.h"
#include "trainer/quant/quant_engine.h"

#include <torch/csrc/jit/serialization/pickle.h>

using namespace frostnas;
using frostnas::testing::perturb_bn;
using frostnas::testing::tiny_net;

namespace {

ConvLayer conv_layer(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups,
                     bool relu) {
  ConvLayer c;
  c.role = "expand";
  c.in_channels = in;
  c.out_channels = out;
  c.kernel = k;
  c.stride = stride;
  c.groups = groups;
  c.in_size = 8;
  c.relu = relu;
  return c;
}

}  // namespace

TEST(QuantEngine, ParsesNamesAndListsAllowedOnError) {
  EXPECT_EQ(parse_quant_engine("onednn"), QuantEngine::kOneDNN);
  EXPECT_EQ(parse_quant_engine("qnnpack"), QuantEngine::kQNNPACK);
  EXPECT_EQ(to_string(QuantEngine::kQNNPACK), "qnnpack");
  EXPECT_EQ(activation_quant_max(QuantEngine::kOneDNN), 127);
  EXPECT_EQ(activation_quant_max(QuantEngine::kQNNPACK), 255);
  try {
    parse_quant_engine("fbgemm", "--engine");
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--engine: unknown quantization engine 'fbgemm' (allowed: onednn, qnnpack)");
  }
}

TEST(WeightQuantScheme, ParsesNamesAndListsAllowedOnError) {
  EXPECT_EQ(parse_weight_quant("per_channel"), WeightQuant::kPerChannel);
  EXPECT_EQ(parse_weight_quant("per_tensor"), WeightQuant::kPerTensor);
  EXPECT_EQ(to_string(WeightQuant::kPerTensor), "per_tensor");
  EXPECT_EQ(weight_quant_names(), (std::vector<std::string>{"per_channel", "per_tensor"}));
  try {
    parse_weight_quant("per_layer", "--weight-quant");
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--weight-quant: unknown value 'per_layer' (allowed: per_channel, per_tensor)");
  }
}

TEST(ActFakeQuant, HandComputedQParams) {
  ActFakeQuant fq(act_fake_quant_options(QuantEngine::kOneDNN));
  fq->enable_observer(true);
  fq->enable_fake_quant(true);
  auto x = torch::tensor({-1.0f, 0.5f, 3.0f});
  auto y = fq->forward(x);
  EXPECT_FLOAT_EQ(fq->running_min.item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(fq->running_max.item<float>(), 3.0f);
  QParams q = fq->qparams();
  EXPECT_EQ(q.scale, static_cast<double>(static_cast<float>(4.0 / 127.0)));
  EXPECT_EQ(q.zero_point, 32);  // 31.75 rounded
  // -1 -> code 32 - 31.75 -> 0 ... values come back on the grid.
  auto codes = torch::round(y / q.scale) + q.zero_point;
  EXPECT_TRUE(torch::allclose(codes, torch::tensor({0.0f, 48.0f, 127.0f}), 0, 1e-4));
  // Second batch moves the range by 1 %.
  fq->forward(torch::tensor({-2.0f, 5.0f}));
  EXPECT_NEAR(fq->running_min.item<float>(), -1.01f, 1e-6);
  EXPECT_NEAR(fq->running_max.item<float>(), 3.02f, 1e-6);
}

TEST(ActFakeQuant, MatchesFusedOpAndSaturatesAtDtypeRange) {
  torch::manual_seed(1);
  ActFakeQuant fq(act_fake_quant_options(QuantEngine::kOneDNN));
  fq->enable_observer(true);
  fq->enable_fake_quant(true);
  auto rmin = torch::full({1}, std::numeric_limits<float>::infinity());
  auto rmax = torch::full({1}, -std::numeric_limits<float>::infinity());
  auto scale = torch::ones({1});
  auto zp = torch::zeros({1}, torch::kInt);
  auto on = torch::ones({1}, torch::kLong);
  for (int i = 0; i < 5; ++i) {
    auto x = torch::randn({4, 3, 5, 5}) * (1 + i) + 0.3;
    auto y = fq->forward(x);
    auto ref =
        torch::fused_moving_avg_obs_fake_quant(x, on, on, rmin, rmax, scale, zp, 0.01, 0, 127, 0);
    EXPECT_NEAR(fq->running_min.item<float>(), rmin.item<float>(), 1e-6);
    EXPECT_NEAR(fq->running_max.item<float>(), rmax.item<float>(), 1e-6);
    EXPECT_EQ(fq->scale.item<float>(), scale.item<float>());
    EXPECT_EQ(fq->zero_point.item<int>(), zp.item<int>());
    // Inside the observed range both agree; above it ours keeps codes up to 255.
    auto inside = (x <= rmax) & (x >= rmin);
    EXPECT_TRUE(torch::equal(y.masked_select(inside), ref.masked_select(inside)));
  }
  fq->enable_observer(false);
  QParams q = fq->qparams();
  const double top = (255 - q.zero_point) * q.scale;
  auto y = fq->forward(torch::tensor({1e6f}));
  EXPECT_NEAR(y.item<float>(), top, 1e-4);
}

TEST(ActFakeQuant, GradientIsStraightThrough) {
  ActFakeQuant fq(act_fake_quant_options(QuantEngine::kOneDNN));
  fq->enable_observer(true);
  fq->enable_fake_quant(true);
  fq->forward(torch::tensor({0.0f, 1.0f}));
  auto x = torch::tensor({0.2f, 0.7f, 100.0f}, torch::requires_grad());
  fq->enable_observer(false);
  fq->forward(x).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({1.0f, 1.0f, 0.0f})));
}

TEST(ActFakeQuant, MatchesLibTorchOpsInEveryModeAfterReLU) {
  // forward(x) and forward(relu(x)) against LibTorch's own ops (the fused observer and
  // fake quantizer, or aminmax + fake_quantize_per_tensor_affine up to 255): values,
  // observer buffers and input gradients, for the fused (QNNPACK range) and the
  // saturating (oneDNN range) path, with observer and fake quantization on and off.
  for (QuantEngine engine : {QuantEngine::kOneDNN, QuantEngine::kQNNPACK}) {
    for (bool relu : {false, true}) {
      for (int mode = 0; mode < 4; ++mode) {
        const bool observe = mode & 1, quantize = mode & 2;
        SCOPED_TRACE(to_string(engine) + (relu ? " relu" : "") + " observe " +
                     std::to_string(observe) + " quantize " + std::to_string(quantize));
        torch::manual_seed(11);
        ActFakeQuant fq(act_fake_quant_options(engine));
        fq->enable_observer(true);
        fq->enable_fake_quant(false);
        fq->forward(torch::randn({64}) * 2);  // a first range, so that quantize-only works
        fq->enable_observer(observe);
        fq->enable_fake_quant(quantize);
        auto rmin = fq->running_min.clone(), rmax = fq->running_max.clone();
        auto scale = fq->scale.clone();
        auto zp = fq->zero_point.clone();
        const int64_t qmax = fq->options.quant_max();
        for (int step = 0; step < 3; ++step) {
          auto x = (torch::randn({2, 3, 5, 5}) * (3.0 + step) + 0.2).requires_grad_();
          auto xr = x.detach().clone().requires_grad_();
          auto y = fq->forward(relu ? torch::relu(x) : x);
          auto in = relu ? torch::relu(xr) : xr;
          torch::Tensor ref = in;
          if (engine == QuantEngine::kQNNPACK) {
            auto on = torch::ones({1}, torch::kLong), off = torch::zeros({1}, torch::kLong);
            ref =
                torch::fused_moving_avg_obs_fake_quant(in, observe ? on : off, quantize ? on : off,
                                                       rmin, rmax, scale, zp, 0.01, 0, qmax, 0);
          } else {
            if (observe) {
              torch::NoGradGuard g;
              auto mm = torch::aminmax(in);
              auto lo = std::get<0>(mm).reshape({1}), hi = std::get<1>(mm).reshape({1});
              rmin = torch::where(torch::isinf(rmin), lo, rmin + 0.01f * (lo - rmin));
              rmax = torch::where(torch::isinf(rmax), hi, rmax + 0.01f * (hi - rmax));
            }
            if (quantize) {
              {
                torch::NoGradGuard g;
                auto on = torch::ones({1}, torch::kLong), off = torch::zeros({1}, torch::kLong);
                torch::fused_moving_avg_obs_fake_quant(torch::zeros({1}), off, on, rmin, rmax,
                                                       scale, zp, 0.01, 0, qmax, 0);
              }
              ref = torch::fake_quantize_per_tensor_affine(in, scale, zp, 0, 255);
            }
          }
          ASSERT_TRUE(torch::equal(y, ref));
          EXPECT_TRUE(torch::equal(fq->running_min, rmin));
          EXPECT_TRUE(torch::equal(fq->running_max, rmax));
          if (quantize) {
            EXPECT_TRUE(torch::equal(fq->scale, scale));
            EXPECT_TRUE(torch::equal(fq->zero_point, zp));
          }
          auto g = torch::randn_like(y);
          (y * g).sum().backward();
          (ref * g).sum().backward();
          EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
          // Not vacuous: some gradients pass, and (with a ReLU or a range) some are cut.
          EXPECT_GT(x.grad().ne(0).sum().item<int64_t>(), 0);
          if (relu || quantize) {
            EXPECT_GT(x.grad().eq(0).sum().item<int64_t>(), 0);
          }
        }
      }
    }
  }
}

TEST(ActFakeQuant, ReluForwardEqualsForwardOfReluInEveryMode) {
  // The fused ReLU against forward(relu(x)) on a twin quantizer: values, observer buffers,
  // qparams and input gradients bit for bit, for both engines' ranges and every mode.
  for (QuantEngine engine : {QuantEngine::kOneDNN, QuantEngine::kQNNPACK}) {
    for (int mode = 0; mode < 4; ++mode) {
      const bool observe = mode & 1, quantize = mode & 2;
      SCOPED_TRACE(to_string(engine) + " observe " + std::to_string(observe) + " quantize " +
                   std::to_string(quantize));
      torch::manual_seed(12);
      ActFakeQuant fused(act_fake_quant_options(engine)), twin(act_fake_quant_options(engine));
      const auto first = torch::relu(torch::randn({64}) * 2);
      for (ActFakeQuant* fq : {&fused, &twin}) {
        (*fq)->enable_observer(true);
        (*fq)->forward(first);
        (*fq)->enable_observer(observe);
        (*fq)->enable_fake_quant(quantize);
      }
      for (int step = 0; step < 3; ++step) {
        auto x = (torch::randn({2, 3, 5, 5}) * (2.0 + 2 * step) + 0.2).requires_grad_();
        auto xr = x.detach().clone().requires_grad_();
        auto y = fused->relu_forward(x);
        auto ref = twin->forward(torch::relu(xr));
        ASSERT_TRUE(torch::equal(y, ref));
        EXPECT_TRUE(torch::equal(fused->running_min, twin->running_min));
        EXPECT_TRUE(torch::equal(fused->running_max, twin->running_max));
        EXPECT_TRUE(torch::equal(fused->scale, twin->scale));
        EXPECT_TRUE(torch::equal(fused->zero_point, twin->zero_point));
        auto g = torch::randn_like(y);
        (y * g).sum().backward();
        (ref * g).sum().backward();
        EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
        EXPECT_GT(x.grad().eq(0).sum().item<int64_t>(), 0);  // the ReLU cut something
      }
    }
  }
}

TEST(WeightFakeQuant, PerChannelSymmetricCodes) {
  auto w = torch::tensor({{1.27f, -0.5f, 0.01f}, {-2.54f, 1.0f, 0.0f}}).reshape({2, 3, 1, 1});
  auto s = weight_scales(w);
  EXPECT_NEAR(s[0].item<float>(), 0.01f, 1e-7);
  EXPECT_NEAR(s[1].item<float>(), 0.02f, 1e-7);
  auto [codes, scales] = quantize_weight_codes(w);
  EXPECT_TRUE(
      torch::equal(codes.flatten(), torch::tensor({127, -50, 1, -127, 50, 0}, torch::kChar)));
  auto fq = fake_quantize_weight(w);
  EXPECT_TRUE(torch::allclose(fq, codes.to(torch::kFloat) * scales.reshape({2, 1, 1, 1})));
}

TEST(WeightFakeQuant, PerTensorSymmetricCodesWithOneScale) {
  auto w = torch::tensor({{1.0f, -0.5f, 0.066f}, {-2.54f, 1.0f, 0.0f}}).reshape({2, 3, 1, 1});
  auto s = weight_scales(w, WeightQuant::kPerTensor);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(s[0].item<float>(), 0.02f, 1e-7);
  EXPECT_EQ(s[1].item<float>(), s[0].item<float>());
  auto [codes, scales] = quantize_weight_codes(w, WeightQuant::kPerTensor);
  // The first channel loses resolution: per channel its largest weight would be code 127.
  EXPECT_TRUE(
      torch::equal(codes.flatten(), torch::tensor({50, -25, 3, -127, 50, 0}, torch::kChar)));
  auto wg = w.clone().requires_grad_();
  auto fq = fake_quantize_weight(wg, WeightQuant::kPerTensor);
  EXPECT_TRUE(torch::allclose(fq, codes.to(torch::kFloat) * scales.reshape({2, 1, 1, 1})));
  EXPECT_FALSE(torch::equal(fq, fake_quantize_weight(w)));
  fq.sum().backward();
  EXPECT_TRUE(torch::equal(wg.grad(), torch::ones_like(w)));  // straight through
}

TEST(QatConvBnAct, FloatModeIsConvBnReLUOnTheSameParameters) {
  torch::manual_seed(2);
  auto layer = conv_layer(4, 6, 3, 1, 1, true);
  QatConvBnAct q(layer);
  ConvBnAct f(ConvBnActOptions(4, 6, 3));
  perturb_bn(*q, 3);
  {
    torch::NoGradGuard g;
    f->conv->weight.copy_(q->conv->weight);
    f->bn->weight.copy_(q->bn->weight);
    f->bn->bias.copy_(q->bn->bias);
    f->bn->running_mean.copy_(q->bn->running_mean);
    f->bn->running_var.copy_(q->bn->running_var);
  }
  auto x = torch::randn({2, 4, 8, 8});
  EXPECT_TRUE(torch::allclose(q->forward(x), f->forward(x), 1e-5, 1e-6));  // train mode
  EXPECT_TRUE(torch::allclose(q->bn->running_mean, f->bn->running_mean));
  q->eval();
  f->eval();
  EXPECT_TRUE(torch::allclose(q->forward(x), f->forward(x), 1e-5, 1e-6));
  // Folding without fake quant is the same function (train: batch stats, eval: running).
  auto fold = QatMode{true, false, false, false};
  q->set_qat_mode(fold);
  EXPECT_TRUE(torch::allclose(q->forward(x), f->forward(x), 1e-4, 1e-5));
  q->train();
  f->train();
  EXPECT_TRUE(torch::allclose(q->forward(x), f->forward(x), 1e-4, 1e-5));
}

TEST(QatConvBnAct, FoldMatchesPyTorchQuotientFormulaWithGradients) {
  // PyTorch's ConvBn2d._forward_approximate divides by the scale factor; the module
  // multiplies by its reciprocal. Values and gradients must agree up to rounding, with
  // weights fake-quantized per channel or per tensor.
  for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
    SCOPED_TRACE(to_string(weights));
    torch::manual_seed(6);
    QatConvBnAct q(conv_layer(4, 6, 3, 1, 2, true));
    perturb_bn(*q, 7);
    q->set_qat_mode(QatMode{true, true, false, false, weights});
    q->out_fq->enable_fake_quant(false);  // compare the fold itself, not the output rounding
    q->train();
    auto x = torch::randn({3, 4, 8, 8});
    auto w = q->conv->weight.detach().clone().requires_grad_();
    auto gamma = q->bn->weight.detach().clone().requires_grad_();
    auto beta = q->bn->bias.detach().clone().requires_grad_();
    auto rm = q->bn->running_mean.clone();
    auto rv = q->bn->running_var.clone();
    auto sf = gamma / torch::sqrt(rv + 1e-5);
    auto wq = fake_quantize_weight(w * sf.reshape({-1, 1, 1, 1}), weights);
    auto y = torch::conv2d(x, wq, {}, 1, 1, 1, 2) / sf.reshape({1, -1, 1, 1});
    auto ref = torch::relu(torch::batch_norm(y, gamma, beta, rm, rv, true, 0.1, 1e-5, false));
    auto out = q->forward(x);
    ASSERT_TRUE(torch::allclose(out, ref, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(q->bn->running_mean, rm, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(q->bn->running_var, rv, 1e-5, 1e-6));
    auto g = torch::randn_like(out);
    (out * g).sum().backward();
    (ref * g).sum().backward();
    EXPECT_TRUE(torch::allclose(q->conv->weight.grad(), w.grad(), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(q->bn->weight.grad(), gamma.grad(), 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(q->bn->bias.grad(), beta.grad(), 1e-4, 1e-5));
    EXPECT_GT(gamma.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(QatConvBnAct, ChannelsLastMatchesNchwInEveryModeWithGradients) {
  for (const QatMode mode : {QatMode::float_mode(), QatMode::qat()}) {
    for (const int64_t groups : {1, 6}) {
      torch::manual_seed(8);
      QatConvBnAct a(conv_layer(6, 6, 3, 2, groups, true));
      QatConvBnAct b(conv_layer(6, 6, 3, 2, groups, true));
      torch::NoGradGuard copy_guard;
      for (size_t i = 0; i < a->parameters().size(); ++i)
        b->parameters()[i].copy_(a->parameters()[i]);
      for (size_t i = 0; i < a->buffers().size(); ++i) b->buffers()[i].copy_(a->buffers()[i]);
      b->set_channels_last(true);
      a->set_qat_mode(mode);
      b->set_qat_mode(mode);
      a->train();
      b->train();
      const auto x = torch::randn({4, 6, 9, 9});
      torch::Tensor ya, yb;
      {
        at::AutoGradMode grad(true);
        ya = a->forward(x);
        yb = b->forward(x);
        ASSERT_TRUE(yb.is_contiguous(torch::MemoryFormat::ChannelsLast));
        const auto g = torch::randn_like(ya);
        (ya * g).sum().backward();
        (yb * g).sum().backward();
      }
      // Fake-quantized outputs may differ by one step where rounding ties move.
      const double tol = mode.fake_quant ? 0.05 : 1e-4;
      EXPECT_TRUE(torch::allclose(ya, yb, tol, tol)) << "groups " << groups;
      const double gtol = mode.fake_quant ? 0.05 : 1e-3;
      EXPECT_TRUE(torch::allclose(a->conv->weight.grad(), b->conv->weight.grad(), gtol, gtol))
          << "groups " << groups;
    }
  }
}

TEST(QatConvBnAct, FreezeBnUsesRunningStatsInTraining) {
  torch::manual_seed(4);
  QatConvBnAct q(conv_layer(4, 6, 3, 2, 1, false));
  perturb_bn(*q, 5);
  q->set_qat_mode(QatMode{true, false, false, true});
  q->train();
  auto mean_before = q->bn->running_mean.clone();
  auto x = torch::randn({3, 4, 8, 8});
  auto y_train = q->forward(x);
  EXPECT_TRUE(torch::equal(mean_before, q->bn->running_mean));
  q->eval();
  EXPECT_TRUE(torch::allclose(y_train, q->forward(x), 1e-5, 1e-6));
  auto [w, b] = q->folded_weight_and_bias();
  auto ref = torch::conv2d(x, w, b, 2, 1);
  EXPECT_TRUE(torch::allclose(y_train, ref, 1e-4, 1e-5));
}

TEST(QatNet, SharesFrostNetParametersAndForward) {
  torch::manual_seed(6);
  NetSpec spec = tiny_net();
  FrostNet f(spec);
  QatNet q(spec);
  perturb_bn(*f, 7);
  auto fp = f->named_parameters();
  auto qp = q->named_parameters();
  EXPECT_EQ(fp.size(), qp.size());
  for (const auto& item : fp) {
    ASSERT_NE(qp.find(item.key()), nullptr) << item.key();
    EXPECT_EQ(qp[item.key()].sizes(), item.value().sizes()) << item.key();
  }
  copy_float_weights(*f, *q);
  f->eval();
  q->eval();
  auto x = torch::randn({2, 1, 28, 28});
  auto yf = f->forward(x);
  EXPECT_EQ(yf.sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_TRUE(torch::allclose(q->forward(x), yf, 1e-5, 1e-6));
  // Same tensors in every mode: optimizer state carries over to QAT.
  std::vector<void*> before;
  for (auto& p : q->parameters()) before.push_back(p.unsafeGetTensorImpl());
  q->enable_qat();
  std::vector<void*> after;
  for (auto& p : q->parameters()) after.push_back(p.unsafeGetTensorImpl());
  EXPECT_EQ(before, after);
  EXPECT_EQ(q->mode(), QatMode::qat());
  // QAT trains: every parameter gets a gradient.
  q->train();
  auto loss = torch::nn::functional::cross_entropy(q->forward(x), torch::tensor({1, 7}));
  loss.backward();
  for (const auto& item : q->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<float>(), 0) << item.key();
  }
  EXPECT_TRUE(q->head->out_fq->calibrated());
  q->freeze_observers();
  q->freeze_bn();
  EXPECT_EQ(q->mode(), (QatMode{true, true, false, true}));
  auto rmax = q->head->out_fq->running_max.clone();
  q->forward(x * 3);
  EXPECT_TRUE(torch::equal(rmax, q->head->out_fq->running_max));
}

TEST(QatNet, FakeQuantLogitsStayCloseToFloat) {
  torch::manual_seed(8);
  QatNet q(tiny_net());
  perturb_bn(*q, 9);
  q->eval();
  auto x = torch::randn({4, 1, 28, 28});
  auto y_float = q->forward(x);
  q->enable_qat();
  q->freeze_bn();
  for (int i = 0; i < 3; ++i) q->forward(x);
  q->freeze_observers();
  auto y_q = q->forward(x);
  EXPECT_FALSE(torch::equal(y_q, y_float));
  auto err = (y_q - y_float).abs().max().item<float>();
  EXPECT_LT(err, 0.25 * y_float.abs().max().item<float>() + 1e-3);
  q->enable_fake_quant(false);
  EXPECT_TRUE(torch::allclose(q->forward(x), y_float, 1e-4, 1e-4));
}

TEST(QatNet, PerTensorWeightsAreStampedOnEveryModeAndChangeTheLogits) {
  torch::manual_seed(12);
  QatNet pc(tiny_net());
  QatNet pt(tiny_net(), QuantEngine::kOneDNN, WeightQuant::kPerTensor);
  perturb_bn(*pc, 13);
  {
    torch::NoGradGuard no_grad;
    auto src = pc->named_parameters();
    for (auto& p : pt->named_parameters()) p.value().copy_(*src.find(p.key()));
    auto src_b = pc->named_buffers();
    for (auto& b : pt->named_buffers()) b.value().copy_(*src_b.find(b.key()));
  }
  EXPECT_EQ(pt->weight_quant(), WeightQuant::kPerTensor);
  auto x = torch::randn({4, 1, 28, 28});
  for (QatNet* q : {&pc, &pt}) {
    (*q)->eval();
    (*q)->enable_qat();
    for (int i = 0; i < 3; ++i) (*q)->forward(x);
    (*q)->freeze_observers();
  }
  // A mode built without the scheme is applied with the net's own.
  pt->set_mode(QatMode{true, true, false, true});
  EXPECT_EQ(pt->mode().weights, WeightQuant::kPerTensor);
  EXPECT_EQ(pt->stem->qat_mode().weights, WeightQuant::kPerTensor);
  pc->set_mode(QatMode{true, true, false, true});
  EXPECT_EQ(pc->stem->qat_mode().weights, WeightQuant::kPerChannel);
  torch::NoGradGuard no_grad;
  auto y_pc = pc->forward(x);
  auto y_pt = pt->forward(x);
  EXPECT_FALSE(torch::equal(y_pc, y_pt));
  pt->enable_fake_quant(false);
  pc->enable_fake_quant(false);
  EXPECT_TRUE(torch::allclose(pt->forward(x), pc->forward(x)));
}

TEST(QatCheckpoint, RoundTripsWeightSchemeAndReadsOldOnesAsPerChannel) {
  torch::manual_seed(14);
  QatNet q(tiny_net(), QuantEngine::kOneDNN, WeightQuant::kPerTensor);
  q->enable_qat();
  auto x = torch::randn({4, 1, 28, 28});
  q->forward(x);
  q->freeze_observers();
  q->eval();
  const std::string path =
      (std::filesystem::temp_directory_path() / "frostnas_quant_test_wq.pt").string();
  save_qat_checkpoint(*q, path);
  QatNet r = load_qat_checkpoint(path);
  r->eval();
  EXPECT_EQ(r->weight_quant(), WeightQuant::kPerTensor);
  EXPECT_EQ(r->mode(), q->mode());
  EXPECT_TRUE(torch::equal(r->forward(x), q->forward(x)));
  // Into a per-channel network of the same architecture: refused, naming the field.
  QatNet pc(tiny_net());
  try {
    load_qat_checkpoint_into(path, *pc);
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         ": field 'weight_quant': 'per_tensor' but the network "
                                         "uses 'per_channel'");
  }
  // A checkpoint written before the field existed.
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto root = torch::jit::pickle_load(bytes).toGenericDict();
    root.erase(c10::IValue(std::string("weight_quant")));
    const std::vector<char> old = torch::jit::pickle_save(c10::IValue(root));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(old.data(), static_cast<std::streamsize>(old.size()));
  }
  EXPECT_EQ(load_qat_checkpoint(path)->weight_quant(), WeightQuant::kPerChannel);
  std::remove(path.c_str());
}

TEST(QatCheckpoint, RoundTripsStateAndMode) {
  torch::manual_seed(10);
  QatNet q(tiny_net());
  perturb_bn(*q, 11);
  q->enable_qat();
  q->train();
  auto x = torch::randn({4, 1, 28, 28});
  q->forward(x);
  q->freeze_observers();
  q->freeze_bn();
  q->eval();
  const std::string path =
      (std::filesystem::temp_directory_path() / "frostnas_quant_test_ckpt.pt").string();
  save_qat_checkpoint(*q, path);
  QatNet r = load_qat_checkpoint(path);
  r->eval();
  EXPECT_EQ(r->mode(), q->mode());
  EXPECT_EQ(r->spec(), q->spec());
  EXPECT_TRUE(torch::equal(r->forward(x), q->forward(x)));
  EXPECT_TRUE(torch::equal(r->stem->out_fq->running_max, q->stem->out_fq->running_max));

  // Truncated file.
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  try {
    load_qat_checkpoint(path);
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(load_qat_checkpoint(path), InputError);

  // A checkpoint of another architecture refuses to load into this one.
  NetSpec other = tiny_net();
  other.head.channels = 32;
  QatNet o(other);
  save_qat_checkpoint(*o, path);
  try {
    load_qat_checkpoint_into(path, *q);
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": field 'arch': differs from the network's");
  }
  std::remove(path.c_str());
}
