#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "common/json_reader.h"
#include "space/arch_report.h"
#include "space/builtin_archs.h"
#include "space/frost_block.h"
#include "space/frost_net.h"
#include "space/genotype.h"
#include "space/resolved_net.h"
#include "space/search_space.h"
#include "tests/common/cell_fixtures.h"
#include "tests/common/temp_dir.h"

using namespace frostnas;
using frostnas::testing::TempDir;

namespace {

using frostnas::testing::cell_spec;

/// concat | node 1 = dwconv_3x3(0) | node 2 = skip(0) + conv_1x1(1)
Genotype two_node_genotype(CellJoin join = CellJoin::kConcat) {
  Genotype g;
  g.name = "two";
  g.join = join;
  g.nodes = {{CellEdge{0, "dwconv_3x3"}}, {CellEdge{0, "skip"}, CellEdge{1, "conv_1x1"}}};
  return g;
}

std::string genotype_error(const nlohmann::json& j) {
  try {
    genotype_from_json(j, "g.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

nlohmann::json valid_genotype_json() { return to_json(two_node_genotype()); }

/// 16x16x1 input, stem 16 stride 1: a Frost block, a cell block (two-node genotype),
/// a stride-2 cell block with the Frost genotype.
NetSpec small_cell_net() {
  NetSpec s;
  s.name = "cells";
  s.in_channels = 1;
  s.input_size = 16;
  s.num_classes = 10;
  s.stem = StemSpec{16, 3, 1};
  s.stages = {StageSpec{{BlockSpec{BlockType::kFrost, 3, 32, 3, 2, 1},
                         cell_spec(two_node_genotype(), 3, 32, 3, 4, 1)}},
              StageSpec{{cell_spec(frost_genotype(), 5, 40, 3, 4, 2)}}};
  s.head = HeadSpec{64};
  s.dropout = 0.0;
  return s;
}

std::string arch_error(const nlohmann::json& j, const std::string& base_dir = "") {
  try {
    net_spec_from_json(j, "arch.json", base_dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

/// Copies every parameter and buffer of `from` into `to`, renaming with `rename`.
void copy_renamed(torch::nn::Module& from, torch::nn::Module& to,
                  const std::function<std::string(std::string)>& rename) {
  torch::NoGradGuard no_grad;
  auto dst_p = to.named_parameters();
  auto dst_b = to.named_buffers();
  for (const auto& item : from.named_parameters()) {
    auto* d = dst_p.find(rename(item.key()));
    ASSERT_NE(d, nullptr) << item.key();
    d->copy_(item.value());
  }
  for (const auto& item : from.named_buffers()) {
    auto* d = dst_b.find(rename(item.key()));
    ASSERT_NE(d, nullptr) << item.key();
    d->copy_(item.value());
  }
}

}  // namespace

TEST(Genotype, JsonRoundTripAndCanonicalString) {
  const Genotype g = two_node_genotype(CellJoin::kSum);
  const Genotype back = genotype_from_json(to_json(g), "g.json");
  EXPECT_EQ(back, g);
  EXPECT_EQ(back.name, "two");
  EXPECT_EQ(to_json(g)["format"], "frostnas.cell/1");
  EXPECT_EQ(canonical_string(g), "sum|1:0.dwconv_3x3|2:0.skip+1.conv_1x1");
  Genotype swapped = g;
  std::swap(swapped.nodes[1][0], swapped.nodes[1][1]);
  EXPECT_EQ(canonical_string(swapped), canonical_string(g));
  EXPECT_EQ(canonical_string(frost_genotype()), "concat|1:0.skip");
}

TEST(Genotype, FileRoundTrip) {
  TempDir dir;
  save_genotype(two_node_genotype(), dir.file("g.json"));
  EXPECT_EQ(load_genotype(dir.file("g.json")), two_node_genotype());
  try {
    load_genotype(dir.file("missing.json"));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
}

TEST(Genotype, EveryValidationErrorNamesFieldAndAllowedValues) {
  auto with = [](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = valid_genotype_json();
    edit(j);
    return genotype_error(j);
  };
  EXPECT_EQ(genotype_error(valid_genotype_json()), "");
  EXPECT_EQ(with([](auto& j) { j["extra"] = 1; }),
            "g.json: $.extra: unknown field (allowed fields: format, name, join, nodes)");
  EXPECT_EQ(with([](auto& j) { j["format"] = "frostnas.arch/1"; }),
            "g.json: $.format: unknown format 'frostnas.arch/1' (allowed: frostnas.cell/1)");
  EXPECT_EQ(with([](auto& j) { j["join"] = "cat"; }),
            "g.json: $.join: \"cat\" is not allowed (allowed: concat, sum)");
  EXPECT_EQ(with([](auto& j) { j.erase("join"); }), "g.json: $.join: missing required field");
  EXPECT_EQ(with([](auto& j) { j.erase("nodes"); }), "g.json: $.nodes: missing required field");
  EXPECT_EQ(with([](auto& j) { j["nodes"] = nlohmann::json::array(); }),
            "g.json: $.nodes: must not be empty");
  EXPECT_EQ(with([](auto& j) { j["nodes"][1] = nlohmann::json::array(); }),
            "g.json: $.nodes[1]: must not be empty");
  EXPECT_EQ(with([](auto& j) { j["nodes"][0][0]["input"] = 1; }),
            "g.json: $.nodes[0][0].input: 1 is out of range (allowed: 0..0)");
  EXPECT_EQ(with([](auto& j) { j["nodes"][1][0]["input"] = -1; }),
            "g.json: $.nodes[1][0].input: -1 is out of range (allowed: 0..1)");
  EXPECT_EQ(with([](auto& j) { j["nodes"][0][0]["op"] = "none"; }),
            "g.json: $.nodes[0][0].op: \"none\" is not allowed (allowed: skip, conv_1x1, "
            "dwconv_3x3, dwconv_5x5, max_pool_3x3, se, avg_pool_3x3)");
  EXPECT_EQ(with([](auto& j) { j["nodes"][1][1]["input"] = 0; }),
            "g.json: $.nodes[1][1].input: node 2 reads node 0 twice (one edge per input)");
  EXPECT_EQ(with([](auto& j) { j["nodes"][0][0]["weight"] = 1; }),
            "g.json: $.nodes[0][0].weight: unknown field (allowed fields: input, op)");
  EXPECT_EQ(with([](auto& j) { j["nodes"][0][0] = "skip"; }),
            "g.json: $.nodes[0][0]: expected an object, got a string");
  EXPECT_EQ(with([](auto& j) { j["nodes"][0] = 3; }),
            "g.json: $.nodes[0]: expected an array, got an integer");
}

TEST(CellOpConvs, ShapesParamsAndMacs) {
  const auto c1 = cell_op_convs("conv_1x1", 16, 8);
  ASSERT_EQ(c1.size(), 1u);
  EXPECT_EQ(c1[0].role, "conv_1x1");
  EXPECT_EQ(c1[0].params(), 16 * 16 + 2 * 16);
  EXPECT_EQ(c1[0].macs(), 16 * 16 * 8 * 8);
  const auto d5 = cell_op_convs("dwconv_5x5", 16, 8);
  ASSERT_EQ(d5.size(), 1u);
  EXPECT_EQ(d5[0].groups, 16);
  EXPECT_EQ(d5[0].kernel, 5);
  EXPECT_EQ(d5[0].out_size, 8);
  EXPECT_EQ(d5[0].params(), 16 * 25 + 2 * 16);
  const auto se = cell_op_convs("se", 16, 8);
  ASSERT_EQ(se.size(), 2u);
  EXPECT_EQ(se[0].role, "se.reduce");
  EXPECT_EQ(se[0].out_channels, 8);  // max(8, 16 / 4)
  EXPECT_TRUE(se[0].bias && !se[0].batch_norm && se[0].relu);
  EXPECT_EQ(se[0].params(), 16 * 8 + 8);
  EXPECT_EQ(se[0].macs(), 16 * 8);
  EXPECT_EQ(se[1].role, "se.expand");
  EXPECT_FALSE(se[1].relu);
  EXPECT_EQ(se[1].params(), 8 * 16 + 16);
  EXPECT_EQ(cell_op_convs("se", 64, 4)[0].out_channels, 16);
  for (const char* op : {"none", "skip", "max_pool_3x3", "avg_pool_3x3"}) {
    EXPECT_TRUE(cell_op_convs(op, 16, 8).empty()) << op;
  }
  try {
    cell_op_convs("sep_conv", 16, 8);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cell op \"sep_conv\" is unknown (allowed: none, skip, conv_1x1, dwconv_3x3, "
              "dwconv_5x5, max_pool_3x3, se, avg_pool_3x3)");
  }
}

TEST(CellBlock, ResolvesConvsParamsAndKey) {
  const ResolvedBlock b = resolve_block(cell_spec(two_node_genotype(), 3, 32, 3, 4, 1), 32, 8, 1.0);
  EXPECT_EQ(b.kind, BlockKind::kCell);
  EXPECT_EQ(b.cell_channels, 8);
  EXPECT_EQ(b.squeeze_channels, 0);
  EXPECT_EQ(b.mid_channels, 40);
  EXPECT_EQ(b.hidden_channels, 120);
  EXPECT_TRUE(b.residual);
  std::vector<std::string> roles;
  for (const auto& c : b.convs) roles.push_back(c.role);
  EXPECT_EQ(roles,
            (std::vector<std::string>{"cell.pre", "cell.n1.e0.dwconv_3x3", "cell.n2.e1.conv_1x1",
                                      "expand", "depthwise", "project"}));
  // pre 32*8+16, dw 8*9+16, 1x1 8*8+16, expand 40*120+240, dw 120*9+240, project 120*32+64
  EXPECT_EQ(b.params(), 272 + 88 + 80 + 5040 + 1320 + 3904);
  const int64_t hw = 64;
  EXPECT_EQ(b.macs(), (256 + 72 + 64 + 4800 + 1080 + 3840) * hw);
  EXPECT_EQ(b.key(),
            "cell:i32x8:o32x8:k3:s1:h120:c8:gconcat|1:0.dwconv_3x3|2:0.skip+1.conv_1x1:res");
  const ResolvedBlock other =
      resolve_block(cell_spec(two_node_genotype(CellJoin::kSum), 3, 32, 3, 4, 1), 32, 8, 1.0);
  EXPECT_NE(other.key(), b.key());
}

TEST(CellBlock, FallbacksAsFrost) {
  // concat with C_in / RF < 8: MBConv; EF = 1: depthwise; sum: cell at width C_in.
  EXPECT_EQ(resolve_block(cell_spec(two_node_genotype(), 3, 16, 3, 4, 1), 16, 8, 1.0).kind,
            BlockKind::kMBConv);
  EXPECT_EQ(resolve_block(cell_spec(two_node_genotype(), 3, 16, 1, 1, 1), 16, 8, 1.0).kind,
            BlockKind::kDepthwise);
  const ResolvedBlock sum =
      resolve_block(cell_spec(two_node_genotype(CellJoin::kSum), 3, 16, 3, 4, 1), 16, 8, 1.0);
  EXPECT_EQ(sum.kind, BlockKind::kCell);
  EXPECT_EQ(sum.cell_channels, 16);
  EXPECT_EQ(sum.mid_channels, 16);
  EXPECT_EQ(sum.convs.front().role, "cell.n1.e0.dwconv_3x3");  // no entry projection
}

TEST(CellBlock, FrostGenotypeIsTheFrostBlock) {
  const BlockSpec frost{BlockType::kFrost, 5, 40, 3, 4, 1};
  const BlockSpec cell = cell_spec(frost_genotype(), 5, 40, 3, 4, 1);
  const ResolvedBlock rf = resolve_block(frost, 32, 8, 1.0);
  const ResolvedBlock rc = resolve_block(cell, 32, 8, 1.0);
  EXPECT_EQ(rc.kind, BlockKind::kCell);
  EXPECT_EQ(rc.params(), rf.params());
  EXPECT_EQ(rc.macs(), rf.macs());
  EXPECT_EQ(rc.mid_channels, rf.mid_channels);
  EXPECT_EQ(rc.hidden_channels, rf.hidden_channels);

  torch::manual_seed(3);
  FrostBlock a(FrostBlockOptions(32, 40).kernel(5).expansion(3).reduction(4).input_size(8));
  FrostBlock b(FrostBlockOptions(32, 40)
                   .kernel(5)
                   .expansion(3)
                   .reduction(4)
                   .input_size(8)
                   .type(BlockType::kCell)
                   .cell(cell.cell));
  EXPECT_EQ(count_parameters(*a), count_parameters(*b));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : a->named_buffers())
      if (p.key().find("running_var") != std::string::npos) p.value().uniform_(0.5, 2.0);
    for (auto& p : a->named_parameters())
      if (p.key().find("bn.bias") != std::string::npos) p.value().uniform_(-0.2, 0.2);
  }
  copy_renamed(*a, *b, [](std::string k) {
    return k.rfind("squeeze.", 0) == 0 ? "cell.pre." + k.substr(8) : k;
  });
  a->eval();
  b->eval();
  auto x = torch::randn({2, 32, 8, 8});
  auto ya = a->forward(x);
  auto yb = b->forward(x);
  EXPECT_EQ(ya.sizes(), yb.sizes());
  EXPECT_TRUE(torch::allclose(ya, yb, 1e-5, 1e-5));
  EXPECT_GT(ya.abs().max().item<double>(), 0.1);
}

TEST(CellBlock, FloatCellRunsEveryOpAndSumJoin) {
  // Each genotype op once, join sum at width C_in = 16.
  Genotype g;
  g.join = CellJoin::kSum;
  g.nodes = {{
                 CellEdge{0, "conv_1x1"},
             },
             {CellEdge{0, "dwconv_3x3"}, CellEdge{1, "dwconv_5x5"}},
             {CellEdge{0, "max_pool_3x3"}, CellEdge{1, "se"}, CellEdge{2, "avg_pool_3x3"}},
             {CellEdge{3, "skip"}}};
  torch::manual_seed(1);
  FrostBlock blk(FrostBlockOptions(16, 16)
                     .expansion(2)
                     .input_size(6)
                     .type(BlockType::kCell)
                     .cell(std::make_shared<const Genotype>(g)));
  ASSERT_TRUE(blk->cell);
  EXPECT_FALSE(blk->cell->pre);
  EXPECT_EQ(count_parameters(*blk), blk->resolved().params());
  auto names = blk->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "cell.n3_e1.reduce.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "cell.n2_e1.layer.conv.weight"), names.end());
  blk->eval();
  auto x = torch::randn({2, 16, 6, 6});
  auto y = blk->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 16, 6, 6}));
  // Node 4 = node 3, so the cell output is n1 + n2 + 2 * n3: check against a hand-run.
  auto& e = blk->cell->edges();
  torch::NoGradGuard no_grad;
  auto n1 = e[0][0].layer.ptr()->forward(x);
  auto n2 = e[1][0].layer.ptr()->forward(x) + e[1][1].layer.ptr()->forward(n1);
  auto gate = torch::sigmoid(e[2][1].expand.ptr()->forward(
      torch::relu(e[2][1].reduce.ptr()->forward(torch::adaptive_avg_pool2d(n1, {1, 1})))));
  auto n3 = torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1}) + n1 * gate +
            torch::avg_pool2d(n2, {3, 3}, {1, 1}, {1, 1}, false, /*count_include_pad=*/false);
  EXPECT_TRUE(torch::allclose(blk->cell->forward(x), n1 + n2 + 2 * n3, 1e-5, 1e-5));
}

TEST(ArchCell, InlineAndPathGenotypesRoundTrip) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("cells"));
  save_genotype(two_node_genotype(), dir.file("cells/two.json"));
  const NetSpec net = small_cell_net();
  nlohmann::json j = to_json(net);
  EXPECT_EQ(j["stages"][0]["blocks"][1]["cell"], to_json(two_node_genotype()));
  EXPECT_FALSE(j["stages"][0]["blocks"][0].contains("cell"));
  EXPECT_EQ(net_spec_from_json(j, "inline.json"), net);

  // A path, relative to the architecture file's directory.
  j["stages"][0]["blocks"][1]["cell"] = "cells/two.json";
  std::ofstream(dir.file("arch.json")) << j.dump(2);
  const NetSpec loaded = load_net_spec(dir.file("arch.json"));
  EXPECT_EQ(loaded, net);
  EXPECT_EQ(to_json(loaded), to_json(net));  // written back inline
  EXPECT_EQ(arch_hash(loaded), arch_hash(net));

  NetSpec other = net;
  other.stages[0].blocks[1].cell =
      std::make_shared<const Genotype>(two_node_genotype(CellJoin::kSum));
  EXPECT_NE(other, net);
  EXPECT_NE(arch_hash(other), arch_hash(net));
  // Equal genotypes in different objects compare equal.
  NetSpec copy = net;
  copy.stages[0].blocks[1].cell = std::make_shared<const Genotype>(two_node_genotype());
  EXPECT_EQ(copy, net);

  const ResolvedNet r = resolve(loaded);
  EXPECT_EQ(r.blocks[1].kind, BlockKind::kCell);
  EXPECT_EQ(r.blocks[2].kind, BlockKind::kCell);
  FrostNet model(loaded);
  EXPECT_EQ(count_parameters(*model), r.params());
  EXPECT_EQ(model->forward(torch::randn({2, 1, 16, 16})).sizes(), (std::vector<int64_t>{2, 10}));
  const std::string report = describe(r);
  EXPECT_NE(report.find("cell two (width 8): concat|1:0.dwconv_3x3|2:0.skip+1.conv_1x1"),
            std::string::npos)
      << report;
  EXPECT_EQ(describe_json(r)["blocks"][1]["cell"], to_json(two_node_genotype()));
}

TEST(ArchCell, ValidationErrors) {
  const nlohmann::json good = to_json(small_cell_net());
  auto with = [&](const std::function<void(nlohmann::json&)>& edit,
                  const std::string& base_dir = "") {
    nlohmann::json j = good;
    edit(j);
    return arch_error(j, base_dir);
  };
  EXPECT_EQ(arch_error(good), "");
  EXPECT_EQ(with([](auto& j) { j["stages"][0]["blocks"][1].erase("cell"); }),
            "arch.json: $.stages[0].blocks[1].cell: missing (required with type \"cell\": a "
            "genotype object or the path of a genotype file)");
  EXPECT_EQ(with([](auto& j) { j["stages"][0]["blocks"][0]["cell"] = to_json(frost_genotype()); }),
            "arch.json: $.stages[0].blocks[0].cell: only allowed with type \"cell\" (this block "
            "is \"frost\")");
  EXPECT_EQ(with([](auto& j) { j["stages"][0]["blocks"][1]["type"] = "sepconv"; }),
            "arch.json: $.stages[0].blocks[1].type: \"sepconv\" is not allowed (allowed: frost, "
            "mbconv, cell)");
  EXPECT_EQ(with([](auto& j) { j["stages"][0]["blocks"][1]["cell"] = 3; }),
            "arch.json: $.stages[0].blocks[1].cell: expected a genotype object or the path of a "
            "genotype file (frostnas.cell/1)");
  EXPECT_EQ(with([](auto& j) { j["stages"][0]["blocks"][1]["cell"]["join"] = "mul"; }),
            "arch.json: $.stages[0].blocks[1].cell.join: \"mul\" is not allowed (allowed: "
            "concat, sum)");
  const std::string missing =
      with([](auto& j) { j["stages"][0]["blocks"][1]["cell"] = "cells/nope.json"; }, "/tmp/x");
  EXPECT_EQ(missing.rfind("arch.json: $.stages[0].blocks[1].cell: genotype file: /tmp/x/cells/"
                          "nope.json",
                          0),
            0u)
      << missing;
}

TEST(SpaceCell, TypeDecisionRoundTrip) {
  SearchSpace space;
  space.name = "typed";
  space.in_channels = 1;
  space.input_size = 16;
  space.num_classes = 10;
  space.stem = StemSpec{16, 3, 1};
  space.head = HeadSpec{64};
  space.dropout = 0.0;
  space.cell = std::make_shared<const Genotype>(two_node_genotype());
  SlotSpec a;
  a.out_channels = 32;
  a.stride = 1;
  a.kernels = {3, 5};
  a.expansions = {3};
  a.reductions = {2};
  a.type = BlockType::kFrost;
  a.types = {BlockType::kFrost, BlockType::kCell};
  SlotSpec b = a;
  b.stride = 2;
  b.out_channels = 40;
  b.types.clear();  // frost only
  b.kernels = {3};
  space.stages = {SpaceStage{{a, b}}};

  const auto ds = decisions(space);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].name(), "slot0.kernel");
  EXPECT_EQ(ds[1].name(), "slot0.type");
  EXPECT_EQ(ds[1].options, (std::vector<int64_t>{static_cast<int64_t>(BlockType::kFrost),
                                                 static_cast<int64_t>(BlockType::kCell)}));
  EXPECT_DOUBLE_EQ(space_size(space), 4.0);

  const NetSpec net = decode(space, {1, 1});
  EXPECT_EQ(net.stages[0].blocks[0].type, BlockType::kCell);
  ASSERT_TRUE(net.stages[0].blocks[0].cell);
  EXPECT_EQ(*net.stages[0].blocks[0].cell, two_node_genotype());
  EXPECT_EQ(net.stages[0].blocks[0].kernel, 5);
  EXPECT_EQ(net.stages[0].blocks[1].type, BlockType::kFrost);
  EXPECT_FALSE(net.stages[0].blocks[1].cell);
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t t = 0; t < 2; ++t)
      EXPECT_EQ(encode(space, decode(space, {k, t})), (Choices{k, t}));

  // Another genotype is not a point of the space.
  NetSpec foreign = net;
  foreign.stages[0].blocks[0].cell = std::make_shared<const Genotype>(frost_genotype());
  EXPECT_FALSE(contains(space, foreign));

  // Cell blocks are distinct table entries.
  const auto blocks = distinct_blocks(space);
  EXPECT_EQ(blocks.size(), 5u);  // slot 0: 2 kernels x 2 types; slot 1: 1
  int cells = 0;
  for (const auto& sb : blocks) cells += sb.block.kind == BlockKind::kCell;
  EXPECT_EQ(cells, 2);

  // JSON round trip: "types" and the space-level cell written inline.
  const nlohmann::json j = to_json(space);
  EXPECT_EQ(j["stages"][0]["slots"][0]["types"], (nlohmann::json{"frost", "cell"}));
  EXPECT_EQ(j["stages"][0]["slots"][1]["type"], "frost");
  EXPECT_EQ(j["cell"], to_json(two_node_genotype()));
  EXPECT_EQ(search_space_from_json(j, "typed.json"), space);
  EXPECT_NE(describe(space).find("frost,cell"), std::string::npos);
}

TEST(SpaceCell, GenotypePathAndErrors) {
  TempDir dir;
  SearchSpace space;
  space.name = "typed";
  space.in_channels = 1;
  space.input_size = 16;
  space.num_classes = 10;
  space.stem = StemSpec{16, 3, 1};
  space.head = HeadSpec{64};
  space.cell = std::make_shared<const Genotype>(frost_genotype());
  SlotSpec a;
  a.out_channels = 32;
  a.types = {BlockType::kFrost, BlockType::kCell};
  space.stages = {SpaceStage{{a}}};
  save_genotype(frost_genotype(), dir.file("frost.json"));
  nlohmann::json j = to_json(space);
  j["cell"] = "frost.json";
  std::ofstream(dir.file("space.json")) << j.dump();
  EXPECT_EQ(load_search_space(dir.file("space.json")), space);

  auto error = [](const nlohmann::json& bad) {
    try {
      search_space_from_json(bad, "space.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  nlohmann::json no_cell = to_json(space);
  no_cell.erase("cell");
  EXPECT_EQ(error(no_cell),
            "space.json: $.cell: missing (required when a slot offers type \"cell\": a genotype "
            "object or the path of a genotype file)");
  nlohmann::json frost_only = to_json(space);
  frost_only["stages"][0]["slots"][0].erase("types");
  frost_only["stages"][0]["slots"][0]["type"] = "frost";
  EXPECT_EQ(error(frost_only),
            "space.json: $.cell: given but no slot offers type \"cell\" (allowed: only with a "
            "cell slot)");
  nlohmann::json both = to_json(space);
  both["stages"][0]["slots"][0]["type"] = "frost";
  EXPECT_EQ(error(both),
            "space.json: $.stages[0].slots[0].types: given together with \"type\" (allowed: one "
            "of the two)");
  nlohmann::json twice = to_json(space);
  twice["stages"][0]["slots"][0]["types"] = {"cell", "cell"};
  EXPECT_EQ(error(twice),
            "space.json: $.stages[0].slots[0].types[1]: \"cell\" is listed twice (allowed: each "
            "of frost, mbconv, cell at most once)");
  nlohmann::json unknown = to_json(space);
  unknown["stages"][0]["slots"][0]["types"] = {"frost", "se"};
  EXPECT_EQ(error(unknown),
            "space.json: $.stages[0].slots[0].types[1]: \"se\" is not allowed (allowed: frost, "
            "mbconv, cell)");
  // One type in "types" is the same space as "type".
  nlohmann::json single = to_json(space);
  single["stages"][0]["slots"][0]["types"] = {"cell"};
  const SearchSpace s1 = search_space_from_json(single, "space.json");
  EXPECT_EQ(s1.stages[0].slots[0].type_options(), (std::vector<BlockType>{BlockType::kCell}));
  EXPECT_TRUE(decisions(s1).empty() || decisions(s1).back().kind != Decision::Kind::kType);
}

TEST(ShippedCells, FrostGenotypeAndProxyCellArch) {
  const std::string root = FROSTNAS_SOURCE_DIR;
  EXPECT_EQ(load_genotype(root + "/experiments/cells/frost.json"), frost_genotype());
  const NetSpec cell = load_net_spec(root + "/experiments/archs/proxy_cell_frost.json");
  const NetSpec frost = load_net_spec(root + "/experiments/archs/proxy_default.json");
  const ResolvedNet rc = resolve(cell);
  const ResolvedNet rf = resolve(frost);
  ASSERT_EQ(rc.blocks.size(), rf.blocks.size());
  EXPECT_EQ(rc.params(), rf.params());
  EXPECT_EQ(rc.macs(), rf.macs());
  for (size_t i = 0; i < rc.blocks.size(); ++i) {
    EXPECT_EQ(rc.blocks[i].spec.type, BlockType::kCell) << i;
    const BlockKind expected =
        rf.blocks[i].kind == BlockKind::kFrost ? BlockKind::kCell : rf.blocks[i].kind;
    EXPECT_EQ(rc.blocks[i].kind, expected) << i;
  }
}
