#include <algorithm>
#include <atomic>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/json_reader.h"
#include "search/cell/cell_search.h"
#include "tests/common/cli_runner.h"
#include "tests/search/cell/cell_test_util.h"
#include "tests/search/store/temp_dir.h"

namespace frostnas {
namespace {

using testing::tiny_cell_search_json;

CellSearchConfig tiny_config() {
  return cell_search_config_from_json(tiny_cell_search_json(), "tiny");
}

/// The ArchWeights of a stored per-epoch record (which also holds the epoch's metrics).
ArchWeights weights_of(const ArchWeightsRecord& r) {
  return arch_weights_from_json(
      {{"nodes", r.weights.at("nodes")}, {"edges", r.weights.at("edges")}}, "db");
}

std::vector<nlohmann::json> stored_weights(const Store& store, int64_t id) {
  std::vector<nlohmann::json> out;
  for (const auto& r : store.list_arch_weights(id)) {
    nlohmann::json j = r.weights;
    j["stage"] = r.stage;
    j["epoch"] = r.epoch;
    out.push_back(j);
  }
  return out;
}

TEST(CellSearch, TinyRunEndToEnd) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  int64_t steps = 0, stage_ends = 0;
  CellSearchOptions options;
  options.on_progress = [&](const CellSearchProgress& p) {
    if (p.event == CellSearchProgress::Event::kStep) ++steps;
    if (p.event == CellSearchProgress::Event::kStageEnd) {
      ++stage_ends;
      ASSERT_NE(p.weights, nullptr);
      EXPECT_EQ(p.next_ops != nullptr, p.stage < 2);
    }
  };
  const CellSearchResult r = run_cell_search(tiny_config(), store, options);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(steps, 5 * 2);  // 5 epochs of 2 steps
  EXPECT_EQ(stage_ends, 3);

  const ExperimentRecord e = store.get_experiment(r.experiment_id);
  EXPECT_EQ(e.kind, "cell_search");
  EXPECT_EQ(e.status, ExperimentStatus::kDone);
  EXPECT_EQ(e.config, tiny_config().to_json());

  // One record per epoch: (0,0) (0,1) (1,0) (2,0) (2,1), ops 8 -> 4 -> 2, none dropped
  // before the last stage.
  const auto records = store.list_arch_weights(r.experiment_id);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[2].stage, 1);
  EXPECT_EQ(records[4].epoch, 1);
  const ArchWeights first = weights_of(records[0]);
  const ArchWeights last = weights_of(records[4]);
  EXPECT_EQ(first.ops[0].size(), 8u);
  EXPECT_EQ(weights_of(records[2]).ops[0].size(), 4u);
  ASSERT_EQ(last.ops.size(), 3u);
  for (const auto& ops : last.ops) {
    EXPECT_EQ(ops.size(), 2u);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "none"), 0);
  }
  for (const auto& row : last.weights) EXPECT_NEAR(row[0] + row[1], 1.0, 1e-9);
  EXPECT_TRUE(records[0].weights.at("val_acc").is_null());  // weights-only epoch
  EXPECT_TRUE(records[1].weights.at("val_acc").is_number());
  EXPECT_TRUE(records[4].weights.at("qat").get<bool>());

  ASSERT_EQ(r.stages.size(), 3u);
  EXPECT_EQ(r.stages[2].weights, last);
  EXPECT_EQ(r.genotype, derive_genotype(last, CellJoin::kConcat, 1));
  ASSERT_EQ(r.genotype.nodes.size(), 2u);
  EXPECT_EQ(r.genotype.nodes[0].size(), 1u);
  EXPECT_EQ(r.genotype.nodes[1].size(), 2u);
  EXPECT_LE(count_skips(r.genotype), 1);
  EXPECT_EQ(genotype_from_json(to_json(r.genotype), "x"), r.genotype);  // a valid genotype

  for (const char* s : {"stage1", "stage2", "stage3", "derive"}) {
    const auto st = store.get_stage(r.experiment_id, s);
    ASSERT_TRUE(st.has_value()) << s;
    EXPECT_EQ(st->status, StageStatus::kDone) << s;
  }
  EXPECT_EQ(
      genotype_from_json(store.get_stage(r.experiment_id, "derive")->result.at("genotype"), "db"),
      r.genotype);
  EXPECT_TRUE(std::filesystem::exists(r.checkpoint_path));
  EXPECT_EQ(r.checkpoint_path, dir.file("db.sqlite") + ".d/cell_search/1/ckpt.pt");

  // Ten architecture steps at lr 6e-4 cannot separate the ops: the genotype is undecided,
  // and the evidence is stored beside it.
  EXPECT_EQ(to_json(r.evidence), to_json(assess_derivation(last, r.genotype)));
  EXPECT_FALSE(r.evidence.decided());
  const auto stored = stored_derivation_evidence(store, r.experiment_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(to_json(*stored), to_json(r.evidence));
  ASSERT_EQ(stored_stage_weights(store, r.experiment_id).size(), 3u);
  EXPECT_EQ(stored_stage_weights(store, r.experiment_id).back(), last);
  EXPECT_FALSE(store.list_events(r.experiment_id).empty());
}

TEST(CellSearch, ResultStoredBeforeTheEvidenceStillReads) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  ExperimentRecord e;
  e.kind = kCellSearchKind;
  e.name = "old";
  const int64_t id = store.create_experiment(e).id;
  EXPECT_FALSE(stored_derivation_evidence(store, id).has_value());  // nothing derived yet

  ArchWeights w;
  w.nodes = 1;
  w.ops = {{"skip", "se", "conv_1x1"}};
  w.weights = {{0.34, 0.33, 0.33}};
  nlohmann::json record = to_json(w);
  record["val_acc"] = 50.0;  // the epoch's figures are stored beside the weights
  store.add_arch_weights(id, 0, 0, record);
  Genotype g;
  g.nodes = {{{0, "skip"}}};
  store.set_stage(id, "derive", StageStatus::kDone,
                  {{"genotype", to_json(g)}, {"canonical", canonical_string(g)}});
  const auto ev = stored_derivation_evidence(store, id);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->decided_margin, kDecidedMargin);
  ASSERT_EQ(ev->edges.size(), 1u);
  EXPECT_NEAR(ev->edges[0].margin, 0.01, 1e-12);
  EXPECT_FALSE(ev->decided());
}

TEST(CellSearch, StopAndResumeEqualsUninterrupted) {
  TempDir dir;
  const CellSearchConfig config = tiny_config();
  Store plain(dir.file("plain.sqlite"));
  const CellSearchResult want = run_cell_search(config, plain, {});

  Store store(dir.file("resumed.sqlite"));
  std::atomic<bool> stop{false};
  CellSearchOptions options;
  options.stop = &stop;
  // First stop: right after the checkpoint of stage 1 epoch 1 (mid-stage: network,
  // alphas and both optimizers are restored from the checkpoint).
  options.on_progress = [&](const CellSearchProgress& p) {
    if (p.event == CellSearchProgress::Event::kEpochEnd && p.stage == 0 && p.epoch == 0)
      stop = true;
  };
  CellSearchResult r = run_cell_search(config, store, options);
  ASSERT_TRUE(r.interrupted);
  EXPECT_EQ(store.get_experiment(r.experiment_id).status, ExperimentStatus::kInterrupted);
  EXPECT_EQ(store.list_arch_weights(r.experiment_id).size(), 1u);

  // Second stop: in the middle of stage 3's first epoch (that epoch is repeated).
  stop = false;
  options.resume_id = r.experiment_id;
  options.on_progress = [&](const CellSearchProgress& p) {
    if (p.event == CellSearchProgress::Event::kStep && p.stage == 2 && p.step == 1) stop = true;
  };
  r = run_cell_search(config, store, options);
  ASSERT_TRUE(r.interrupted);
  EXPECT_EQ(store.list_arch_weights(r.experiment_id).size(), 3u);

  stop = false;
  options.on_progress = nullptr;
  r = run_cell_search(config, store, options);
  ASSERT_FALSE(r.interrupted);
  EXPECT_EQ(store.get_experiment(r.experiment_id).status, ExperimentStatus::kDone);
  EXPECT_EQ(r.genotype, want.genotype);
  ASSERT_EQ(r.stages.size(), 3u);
  for (size_t s = 0; s < 3; ++s) EXPECT_EQ(r.stages[s].weights, want.stages[s].weights) << s;
  EXPECT_EQ(stored_weights(store, r.experiment_id), stored_weights(plain, want.experiment_id));
}

TEST(CellSearch, ResumeRefusesAnotherConfig) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  std::atomic<bool> stop{true};
  CellSearchOptions options;
  options.stop = &stop;
  const CellSearchResult r = run_cell_search(tiny_config(), store, options);
  ASSERT_TRUE(r.interrupted);
  CellSearchConfig other = tiny_config();
  other.seed = 4;
  options.resume_id = r.experiment_id;
  try {
    run_cell_search(other, store, options);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("differs"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cell_search_config_from_store(store, r.experiment_id).to_json(),
            tiny_config().to_json());
}

TEST(CellSearch, Fp32PrecisionNeverFakeQuantizes) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  CellSearchConfig config = tiny_config();
  config.precision = SearchPrecision::kFp32;
  std::vector<bool> qat_by_step;
  CellSearchOptions options;
  options.on_progress = [&](const CellSearchProgress& p) {
    if (p.event == CellSearchProgress::Event::kStep) qat_by_step.push_back(p.qat_active);
  };
  const CellSearchResult r = run_cell_search(config, store, options);
  ASSERT_EQ(qat_by_step.size(), 10u);
  EXPECT_EQ(std::count(qat_by_step.begin(), qat_by_step.end(), true), 0);
  for (const auto& rec : store.list_arch_weights(r.experiment_id))
    EXPECT_FALSE(rec.weights.at("qat").get<bool>());
  EXPECT_EQ(store.get_experiment(r.experiment_id).config.at("precision"), "fp32");
  // The QAT search of the same config does fake-quantize (the test is not vacuous).
  EXPECT_FALSE(tiny_config().to_json().contains("precision"));
  EXPECT_TRUE(store.list_arch_weights(run_cell_search(tiny_config(), store, {}).experiment_id)
                  .back()
                  .weights.at("qat")
                  .get<bool>());
}

TEST(CellSearchCli, WritesGenotypeAndRefusesBadConfig) {
  TempDir dir;
  nlohmann::json j = tiny_cell_search_json();
  j["stages"] = {{{"depth", 1}, {"epochs", 1}, {"ops", 8}}};
  save_json_file(j, dir.file("cfg.json"));
  const auto r =
      testing::run_frostnas("cell-search --config " + dir.file("cfg.json") + " --db " +
                            dir.file("db.sqlite") + " --out " + dir.file("g.json") + " --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("stage 1/1: softmaxed architecture weights"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("avg_pool_3x3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("how decided each edge is"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("UNDECIDED: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("this genotype is not a finding"), std::string::npos) << r.out;
  const Genotype g = load_genotype(dir.file("g.json"));
  EXPECT_EQ(g.nodes.size(), 2u);

  testing::expect_input_error(
      testing::run_frostnas("cell-search --config " + dir.file("cfg.json") + " --db " +
                            dir.file("db3.sqlite") + " --precision int4"),
      "--precision: unknown value 'int4' (allowed: qat, fp32)");
  EXPECT_FALSE(std::filesystem::exists(dir.file("db3.sqlite")));

  j["cell"]["ops"] = {"skip", "conv_3x3"};
  save_json_file(j, dir.file("bad.json"));
  testing::expect_input_error(testing::run_frostnas("cell-search --config " + dir.file("bad.json") +
                                                    " --db " + dir.file("db2.sqlite")),
                              "$.cell.ops");
  EXPECT_FALSE(std::filesystem::exists(dir.file("db2.sqlite")));
}

}  // namespace
}  // namespace frostnas
