#include <gtest/gtest.h>

#include "common/error.h"
#include "space/builtin_archs.h"
#include "space/frost_net.h"
#include "space/resolved_net.h"

using namespace frostnas;

namespace {

// Parameter counts (1000 classes) and MACs at 224x224. The parameter counts of
// small-1.0 and large-1.0 are those of the official definition (docs/frostnet.md,
// "Official configurations"); the other rows are this implementation's analytic counts,
// pinned here as a regression check and cross-checked against the built modules below.
struct Expected {
  const char* name;
  int64_t params;
  int64_t macs;
};
const Expected kExpected[] = {
    {"frostnet-small-0.35", 1838400, 56140400},  {"frostnet-small-0.5", 2351896, 100614368},
    {"frostnet-small-0.75", 3477424, 211627984}, {"frostnet-small-1.0", 4858776, 315344912},
    {"frostnet-small-1.25", 6749376, 504463744}, {"frostnet-base-0.35", 1851048, 63971776},
    {"frostnet-base-0.5", 2380256, 112738144},   {"frostnet-base-0.75", 3530400, 244519528},
    {"frostnet-base-1.0", 5001712, 362851392},   {"frostnet-base-1.25", 6938936, 582403144},
    {"frostnet-large-0.35", 1959048, 71346080},  {"frostnet-large-0.5", 2603056, 131715648},
    {"frostnet-large-0.75", 4038328, 286466272}, {"frostnet-large-1.0", 5807056, 430813216},
    {"frostnet-large-1.25", 8221080, 692648832},
};

// MACs measured on the built module: every convolution's output shape comes from
// a real forward pass, its weight shape from the module.
int64_t measured_macs(FrostNet& net, int64_t input_size) {
  torch::NoGradGuard no_grad;
  net->eval();
  int64_t macs = 0;
  auto run = [&](ConvBnAct& m, const torch::Tensor& x) {
    auto y = m->forward(x);
    const auto& w = m->conv->weight;
    macs += y.size(1) * y.size(2) * y.size(3) * w.size(1) * w.size(2) * w.size(3);
    return y;
  };
  auto x = torch::randn({1, net->spec().in_channels, input_size, input_size});
  x = run(net->stem, x);
  for (const auto& child : net->blocks->children()) {
    auto block = std::dynamic_pointer_cast<FrostBlockImpl>(child);
    auto h = x;
    if (block->squeeze) h = torch::cat({run(block->squeeze, x), x}, 1);
    if (block->expand) h = run(block->expand, h);
    h = run(block->project, run(block->depthwise, h));
    x = block->residual() ? h + x : h;
  }
  x = run(net->head, x);
  macs += net->classifier->weight.size(0) * net->classifier->weight.size(1);
  return macs;
}

}  // namespace

TEST(BuiltinArchs, NamesCoverEveryVariantAndWidth) {
  const auto names = builtin_arch_names();
  ASSERT_EQ(names.size(), 15u);
  EXPECT_EQ(names.front(), "frostnet-small-0.35");
  EXPECT_EQ(names.back(), "frostnet-large-1.25");
  for (const auto& e : kExpected) EXPECT_TRUE(is_builtin_arch(e.name)) << e.name;
}

TEST(BuiltinArchs, ReferenceParameterCounts) {
  EXPECT_EQ(resolve(builtin_arch("frostnet-small-1.0")).params(), 4858776);
  EXPECT_EQ(resolve(builtin_arch("frostnet-large-1.0")).params(), 5807056);
}

TEST(BuiltinArchs, AnalyticCountsOfAllBuiltins) {
  for (const auto& e : kExpected) {
    const ResolvedNet r = resolve(builtin_arch(e.name));
    EXPECT_EQ(r.params(), e.params) << e.name;
    EXPECT_EQ(r.macs(), e.macs) << e.name;
  }
  // The reference counts small-1.0 at about 315 M MACs.
  EXPECT_NEAR(resolve(builtin_arch("frostnet-small-1.0")).macs() / 1e6, 315.0, 1.0);
}

TEST(BuiltinArchs, ModuleParametersMatchAnalyticCount) {
  for (const auto& e : kExpected) {
    FrostNet net = build_model(builtin_arch(e.name));
    EXPECT_EQ(count_parameters(*net), e.params) << e.name;
  }
}

TEST(BuiltinArchs, ModuleMacsMatchAnalyticCount) {
  torch::manual_seed(0);
  for (const char* name : {"frostnet-small-0.35", "frostnet-base-1.0", "frostnet-large-1.25"}) {
    FrostNet net = build_model(builtin_arch(name));
    EXPECT_EQ(measured_macs(net, 224), resolve(net->spec()).macs()) << name;
  }
}

TEST(BuiltinArchs, ForwardShapes224x224x3) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (const auto& name : builtin_arch_names()) {
    FrostNet net = build_model(builtin_arch(name));
    net->eval();
    const auto y = net->forward(torch::randn({1, 3, 224, 224}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 1000})) << name;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << name;
  }
}

TEST(BuiltinArchs, ForwardShapes28x28x1) {
  torch::manual_seed(0);
  for (const auto& name : builtin_arch_names()) {
    NetSpec spec = builtin_arch(name);
    spec.in_channels = 1;
    spec.input_size = 28;
    spec.num_classes = 10;
    validate(spec, "test");
    FrostNet net = build_model(spec);
    const auto y = net->forward(torch::randn({2, 1, 28, 28}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10})) << name;
    EXPECT_EQ(resolve(spec).blocks.back().out_size, 1) << name;
  }
}

TEST(BuiltinArchs, UnknownNameListsTheKnownOnes) {
  try {
    builtin_arch("frostnet-tiny-1.0");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("frostnet-tiny-1.0"), std::string::npos);
    EXPECT_NE(msg.find("frostnet-small-0.35"), std::string::npos);
    EXPECT_NE(msg.find("frostnet-large-1.25"), std::string::npos);
  }
}

TEST(BuiltinArchs, InitialisationFollowsTheReference) {
  torch::manual_seed(1);
  FrostNet net = build_model(builtin_arch("frostnet-small-1.0"));
  // kaiming normal, fan-out, ReLU gain: std = sqrt(2 / (out * k * k)).
  const auto& w = net->head->conv->weight;  // [1280, 320, 1, 1]
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / 1280.0), 0.002);
  EXPECT_TRUE(net->head->bn->weight.eq(1).all().item<bool>());
  EXPECT_TRUE(net->head->bn->bias.eq(0).all().item<bool>());
  EXPECT_TRUE(net->classifier->bias.eq(0).all().item<bool>());
  for (const auto& p : net->named_parameters()) {
    if (p.key().find("conv.bias") != std::string::npos) FAIL() << "bias on " << p.key();
  }
}
