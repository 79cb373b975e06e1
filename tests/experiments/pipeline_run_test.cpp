#include <atomic>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/json_reader.h"
#include "experiments/pipeline/pipeline.h"
#include "export/model_export.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "space/net_spec.h"
#include "space/search_space.h"
#include "tests/common/cli_runner.h"
#include "tests/common/tiny_pipeline.h"
#include "trainer/int8/int8_artifact.h"

namespace frostnas {
namespace {

class TempDb {
 public:
  TempDb() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("frostnas_pipeline_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~TempDb() { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "p.sqlite").string(); }

 private:
  std::filesystem::path dir_;
};

// One run stopped in the baselines stage and resumed: every stage is recorded, the
// found network is not trained again, and the final models carry measured figures.
TEST(Pipeline, RunsStopsAndResumesEveryStage) {
  TempDb db;
  Store store(db.path());
  const PipelineConfig config = pipeline_config_from_json(
      testing::tiny_pipeline_config(), "tiny.json", testing::source_path("experiments"), false);
  std::atomic<bool> stop{false};
  PipelineHooks hooks;
  hooks.stop = &stop;
  hooks.log = [&](const std::string& line) {
    if (line.rfind("training frostnet", 0) == 0) stop.store(true);
  };
  const PipelineSummary first = run_pipeline(config, store, std::nullopt, hooks);
  ASSERT_TRUE(first.interrupted);
  EXPECT_EQ(store.get_experiment(first.experiment_id).status, ExperimentStatus::kInterrupted);
  EXPECT_EQ(store.get_stage(first.experiment_id, "retrain")->status, StageStatus::kDone);
  EXPECT_EQ(store.get_stage(first.experiment_id, "baselines")->status, StageStatus::kRunning);
  const auto found_before =
      store.list_candidates(*first.final_experiment_id, CandidateStatus::kDone);
  ASSERT_EQ(found_before.size(), 1u);

  stop.store(false);
  hooks.log = nullptr;
  // The resumed run times its models through the hook (the CLI's runs `frostnas lut
  // time` in a fresh process); here it loads the saved model back and times it in process.
  std::vector<std::string> timed;
  hooks.time_saved_model = [&](const std::string& dir, const std::string& space_json,
                               const MeasureConfig& m, uint64_t seed) {
    timed.push_back(dir);
    EXPECT_EQ(std::filesystem::path(space_json).parent_path(),
              std::filesystem::path(dir).parent_path());
    TimingOptions o;
    o.warmup = m.warmup;
    o.rounds = m.rounds;
    return time_with_companions({load_built_net(dir, seed)},
                                calibration_networks(load_search_space(space_json), 2, seed),
                                QuantEngine::kOneDNN, o, seed)
        .front();
  };
  const PipelineConfig stored = pipeline_config_from_json(
      store.get_experiment(first.experiment_id).config, "stored", ".", false);
  const PipelineSummary second = run_pipeline(stored, store, first.experiment_id, hooks);
  ASSERT_FALSE(second.interrupted);
  EXPECT_EQ(second.experiment_id, first.experiment_id);
  EXPECT_EQ(second.search_experiment_id, first.search_experiment_id);
  ASSERT_EQ(second.models.size(), 3u);
  // Only the two baselines were trained (and timed) in the resumed run.
  ASSERT_EQ(timed.size(), 2u);
  EXPECT_EQ(timed[0], pipeline_model_dir(store, first.experiment_id, second.models[1].name));
  EXPECT_EQ(timed[1], pipeline_model_dir(store, first.experiment_id, second.models[2].name));
  // The found network was not trained again: same candidate, same figures.
  EXPECT_EQ(second.models[0].candidate_id, found_before[0].id);
  EXPECT_DOUBLE_EQ(second.models[0].int8_acc, *found_before[0].int8_acc);
  EXPECT_EQ(store.list_candidates(*second.final_experiment_id).size(), 3u);
  EXPECT_EQ(store.list_experiments("search").size(), 1u);

  ASSERT_TRUE(second.search_experiment_id && second.final_experiment_id);
  EXPECT_FALSE(second.cell_experiment_id);

  const auto stages = store.list_stages(second.experiment_id);
  ASSERT_EQ(stages.size(), pipeline_stage_names().size());
  for (const auto& st : stages)
    EXPECT_EQ(st.status, st.name == "cell_search" ? StageStatus::kSkipped : StageStatus::kDone)
        << st.name;
  EXPECT_EQ(store.get_experiment(second.experiment_id).status, ExperimentStatus::kDone);
  EXPECT_EQ(store.list_candidates(*second.search_experiment_id).size(), 2u);

  // One found network, the FrostNet baseline and one MobileNet-style width (the one
  // whose latency is closest to the found network's).
  ASSERT_EQ(second.models.size(), 3u);
  EXPECT_EQ(second.models[0].group, "found");
  EXPECT_EQ(second.models[0].name, "found-1");
  EXPECT_EQ(second.models[1].group, "frostnet");
  EXPECT_EQ(second.models[1].name, "frostnet-small-0.35");
  EXPECT_EQ(second.models[2].group, "mobilenet");
  for (const auto& m : second.models) {
    EXPECT_GT(m.int8_ms, 0.0) << m.name;
    EXPECT_GT(m.fp32_ms, 0.0) << m.name;
    EXPECT_GE(m.int8_acc, 0.0);
    EXPECT_LE(m.int8_acc, 100.0);
  }
  // Every final model is saved where `frostnas eval` loads it, with its architecture.
  for (const auto& m : second.models) {
    const std::filesystem::path dir = pipeline_model_dir(store, second.experiment_id, m.name);
    EXPECT_EQ(dir, std::filesystem::path(db.path() + ".d") / "pipeline" /
                       std::to_string(second.experiment_id) / m.name);
    EXPECT_TRUE(std::filesystem::exists(dir / "qat.pt")) << m.name;
    ASSERT_TRUE(std::filesystem::exists(dir / "arch.json")) << m.name;
    EXPECT_EQ(arch_hash(load_net_spec((dir / "arch.json").string())),
              store.get_candidate(m.candidate_id).arch_hash)
        << m.name;
    EXPECT_NO_THROW(load_int8_model((dir / "int8").string())) << m.name;
    // ... and its deployment exports, which `frostnas export-model` can redo from it.
    for (const char* f : {kTorchScriptInt8File, kTorchScriptFloatFile, kOnnxFile})
      EXPECT_TRUE(std::filesystem::exists(dir / f)) << m.name << " " << f;
    EXPECT_NO_THROW(load_export_source(dir.string(), true)) << m.name;
  }
  const auto final_candidates =
      store.list_candidates(*second.final_experiment_id, CandidateStatus::kDone);
  ASSERT_EQ(final_candidates.size(), 3u);
  EXPECT_DOUBLE_EQ(*final_candidates[0].int8_acc, second.models[0].int8_acc);
  EXPECT_DOUBLE_EQ(*final_candidates[0].measured_latency_ms, second.models[0].int8_ms);
  // The found network came from the search's best candidate.
  const auto best = store.top_candidates(*second.search_experiment_id, 1).front();
  EXPECT_EQ(final_candidates[0].arch_hash, best.arch_hash);
}

}  // namespace
}  // namespace frostnas
