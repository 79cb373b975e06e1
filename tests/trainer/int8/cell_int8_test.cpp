#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "common/error.h"
#include "common/json_reader.h"
#include "space/frost_net.h"
#include "space/genotype.h"
#include "tests/common/cell_fixtures.h"
#include "tests/trainer/int8/int8_test_util.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/int8/int8_cell.h"
#include "trainer/int8/int8_ops.h"
#include "trainer/quant/cell_ops.h"
#include "trainer/quant/qat_net.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

using frostnas::testing::all_ops_genotype;
using frostnas::testing::cell_spec;

namespace fs = std::filesystem;

Genotype two_node_genotype() {
  Genotype g;
  g.name = "two";
  g.join = CellJoin::kConcat;
  g.nodes = {{CellEdge{0, "dwconv_3x3"}}, {CellEdge{0, "max_pool_3x3"}, CellEdge{1, "conv_1x1"}}};
  return g;
}

/// 16x16x1 input: a concat cell (every op), a two-node concat cell, a sum cell (every
/// op, stride 2), a Frost genotype cell and a Frost block.
NetSpec cell_net() {
  NetSpec s;
  s.name = "cell-net";
  s.in_channels = 1;
  s.input_size = 16;
  s.num_classes = 10;
  s.stem = StemSpec{16, 3, 1};
  s.stages = {StageSpec{{cell_spec(all_ops_genotype(CellJoin::kConcat), 3, 16, 3, 2, 1),
                         cell_spec(two_node_genotype(), 3, 24, 3, 2, 1)}},
              StageSpec{{cell_spec(all_ops_genotype(CellJoin::kSum), 5, 32, 2, 4, 2),
                         cell_spec(frost_genotype(), 3, 32, 3, 4, 1),
                         BlockSpec{BlockType::kFrost, 3, 40, 3, 4, 1}}}};
  s.head = HeadSpec{64};
  s.dropout = 0.0;
  return s;
}

QatNet trained_cell_net(QuantEngine engine, uint64_t seed,
                        WeightQuant weights = WeightQuant::kPerChannel) {
  return briefly_trained_qat_net(cell_net(), engine, seed, weights);
}

/// Max |INT8 - fake quant| of one op, in steps of the INT8 output scale.
double op_error_steps(const std::string& name, QuantEngine engine, uint64_t seed,
                      WeightQuant weights) {
  torch::manual_seed(seed);
  CellOpPtr op = make_cell_op(name, CellOpOptions(16, 7).engine(engine));
  ActFakeQuant in_fq(act_fake_quant_options(engine));
  perturb_bn(*op, seed + 1);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : op->named_parameters())
      if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.5, 0.5);
  }
  // Calibrate (observers, BN batch statistics), then freeze as after training.
  apply_qat_mode(*op, QatMode::qat(weights));
  in_fq->set_qat_mode(QatMode::qat(weights));
  op->train();
  {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 3; ++i) op->forward(in_fq->forward(torch::randn({8, 16, 7, 7})));
  }
  const QatMode frozen{true, true, false, true, weights};
  apply_qat_mode(*op, frozen);
  in_fq->set_qat_mode(frozen);
  op->eval();
  auto x = torch::randn({2, 16, 7, 7});
  torch::NoGradGuard no_grad;
  auto xq = in_fq->forward(x);
  auto y_fq = op->forward(xq);
  Int8CellOp int8 = convert_to_int8(*op, engine);
  for (const auto& c : int8.convs) EXPECT_EQ(c.weight_quant(), weights) << name;
  QEngineGuard guard(engine);
  auto qx = quantize_activation(x, in_fq->qparams());
  EXPECT_TRUE(torch::equal(qx.dequantize(), xq)) << name;
  auto y = int8.forward(qx);
  EXPECT_TRUE(y.is_quantized()) << name;
  EXPECT_EQ(y.sizes(), x.sizes()) << name;
  EXPECT_GT(y_fq.abs().max().item<double>(), 0.0) << name;
  return (y.dequantize() - y_fq).abs().max().item<double>() / y.q_scale();
}

std::string load_error(const std::string& dir) {
  try {
    load_int8_model(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Int8CellOp, EveryOpMatchesFakeQuant) {
  std::vector<QuantEngine> engines{QuantEngine::kOneDNN};
  if (quant_engine_available(QuantEngine::kQNNPACK)) engines.push_back(QuantEngine::kQNNPACK);
  for (QuantEngine engine : engines) {
    for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
      uint64_t seed = 10;
      for (const auto& name : genotype_op_names()) {
        const double steps = op_error_steps(name, engine, seed++, weights);
        std::printf("%-8s %-11s %-13s max error %.3f steps\n", to_string(engine).c_str(),
                    to_string(weights).c_str(), name.c_str(), steps);
        // se and avg_pool_3x3: the quantized pools round onto the input's grid first.
        const double allowed = name == "se" ? 3.0 : name == "avg_pool_3x3" ? 2.0 : 1.01;
        EXPECT_LE(steps, allowed) << to_string(engine) << " " << to_string(weights) << " " << name;
      }
    }
  }
}

TEST(Int8CellOp, RejectsInconsistentOps) {
  Int8CellOp op;
  op.op = "avg_pool_3x3";
  EXPECT_THROW(op.validate(), c10::Error);  // output qparams missing
  op.out = QParams{0.1, 3};
  EXPECT_NO_THROW(op.validate());
  op.op = "conv_1x1";
  EXPECT_THROW(op.validate(), c10::Error);
  op.op = "none";
  EXPECT_THROW(op.validate(), c10::Error);
  CellOpPtr none = make_cell_op("none", CellOpOptions(8, 4));
  EXPECT_THROW(convert_to_int8(*none, QuantEngine::kOneDNN), c10::Error);
}

TEST(Int8Cell, WholeNetLogitsMatchFakeQuant) {
  std::vector<QuantEngine> engines{QuantEngine::kOneDNN};
  if (quant_engine_available(QuantEngine::kQNNPACK)) engines.push_back(QuantEngine::kQNNPACK);
  for (QuantEngine engine : engines) {
    for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
      QatNet net = trained_cell_net(engine, 50, weights);
      auto x = torch::randn({4, 1, 16, 16});
      torch::NoGradGuard no_grad;
      auto y_fq = net->forward(x);
      Int8Net int8 = convert_to_int8(*net);
      EXPECT_EQ(int8.weight_quant(), weights);
      ASSERT_TRUE(int8.blocks()[0].cell().has_value());
      EXPECT_FALSE(int8.blocks()[4].cell().has_value());
      auto y = int8.forward(x);
      const double scale = int8.classifier().out_qparams().scale;
      EXPECT_GT((y_fq.max() - y_fq.min()).item<double>() / scale, 20.0);
      const double steps = (y - y_fq).abs().max().item<double>() / scale;
      std::printf("%s %s cell net: max logit error %.3f steps\n", to_string(engine).c_str(),
                  to_string(weights).c_str(), steps);
      EXPECT_LE(steps, 4.0) << to_string(engine) << " " << to_string(weights);
    }
  }
}

TEST(Int8Cell, FoldedFp32MatchesFloatModels) {
  torch::manual_seed(7);
  const NetSpec spec = cell_net();
  FrostNet f(spec);
  perturb_bn(*f, 8);
  f->eval();
  auto x = torch::randn({2, 1, 16, 16});
  torch::NoGradGuard no_grad;
  auto ref = f->forward(x);
  EXPECT_TRUE(torch::allclose(fold_to_fp32(*f).forward(x), ref, 1e-4, 1e-4));
  QatNet q(spec);
  copy_float_weights(*f, *q);
  q->eval();
  EXPECT_TRUE(torch::allclose(fold_to_fp32(*q).forward(x), ref, 1e-4, 1e-4));
}

TEST(Int8Cell, ArtifactRoundTripsBitExactly) {
  QatNet net = trained_cell_net(QuantEngine::kOneDNN, 60);
  Int8Net int8 = convert_to_int8(*net);
  const std::string dir =
      (fs::temp_directory_path() / ("frostnas_cell_artifact_" + std::to_string(::getpid())))
          .string();
  fs::remove_all(dir);
  save_int8_model(int8, dir);
  Int8Net loaded = load_int8_model(dir);
  EXPECT_EQ(loaded.spec(), int8.spec());
  auto x = torch::randn({3, 1, 16, 16});
  EXPECT_TRUE(torch::equal(loaded.forward(x), int8.forward(x)));

  // A broken cell entry names file and field.
  const std::string json_path = (fs::path(dir) / kInt8ModelJson).string();
  nlohmann::json j = load_json_file(json_path);
  const nlohmann::json good = j;
  j["blocks"][0]["cell"]["ops"][2][1] = nullptr;  // the se output qparams
  std::ofstream(json_path) << j.dump();
  EXPECT_EQ(load_error(dir), json_path + ": blocks.0.cell.ops[2][1].scale: missing");
  j = good;
  j["blocks"][0]["cell"]["node_adds"][1] = nlohmann::json::array();
  std::ofstream(json_path) << j.dump();
  EXPECT_EQ(load_error(dir), json_path +
                                 ": blocks.0.cell.node_adds[1]: expected an array of 1 "
                                 "entries");
  j = good;
  j["blocks"][1].erase("cell");
  std::ofstream(json_path) << j.dump();
  EXPECT_EQ(load_error(dir), json_path + ": blocks.1.cell: missing");
  fs::remove_all(dir);
}

TEST(Int8Cell, LatencyTablePathBuildsCellBlocks) {
  // What search/latency's TorchLutMeasurer does per block: a seeded QatBlock,
  // calibrated in QAT mode with BN on running statistics, then convert_to_int8 and
  // fold_to_fp32, both run at batch 1 channels-last.
  for (const Genotype& g :
       {all_ops_genotype(CellJoin::kConcat), all_ops_genotype(CellJoin::kSum), frost_genotype()}) {
    const ResolvedBlock rb = resolve_block(cell_spec(g, 5, 40, 3, 4, 1), 40, 7, 1.0);
    ASSERT_EQ(rb.kind, BlockKind::kCell);
    torch::manual_seed(0);
    QatBlock qat(rb, QuantEngine::kOneDNN);
    apply_qat_mode(*qat, QatMode{true, true, true, true});
    qat->eval();
    {
      torch::NoGradGuard no_grad;
      for (int b = 0; b < 2; ++b) qat->forward(torch::randn({2, 40, 7, 7}));
    }
    Int8Block int8 = convert_to_int8(*qat, QuantEngine::kOneDNN);
    FoldedBlock fp32 = fold_to_fp32(*qat);
    auto x = torch::randn({1, 40, 7, 7}).contiguous(at::MemoryFormat::ChannelsLast);
    auto qx = quantize_activation(x, QParams{0.05, 64});
    auto yq = int8.forward(qx);
    auto yf = fp32.forward(x);
    EXPECT_EQ(yq.sizes(), (std::vector<int64_t>{1, 40, 7, 7})) << canonical_string(g);
    EXPECT_EQ(yf.sizes(), (std::vector<int64_t>{1, 40, 7, 7})) << canonical_string(g);
    EXPECT_TRUE(yq.is_quantized());
    EXPECT_EQ(int8.resolved().key(), rb.key());
  }
}
