#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "search/study/study_runner.h"
#include "tests/common/temp_dir.h"
#include "tests/search/study/tiny_study.h"

using namespace frostnas;
using frostnas::testing::one_thread;
using frostnas::testing::TempDir;
using frostnas::testing::tiny_study_json;

namespace {

/// The stored metrics by (variant, seed), without the timings.
std::map<std::pair<std::string, int64_t>, nlohmann::json> metrics_by_run(
    const std::vector<StudyRunRecord>& runs) {
  return frostnas::testing::metrics_by_run(runs, {"train_seconds"});
}

StudyRunRecord fake_run(const std::string& variant, int64_t seed, StudyRunStatus status,
                        double fp32_acc) {
  StudyRunRecord r;
  r.variant = variant;
  r.seed = seed;
  r.status = status;
  r.metrics = {{"fp32_acc", fp32_acc}};
  return r;
}

}  // namespace

TEST(StudyRunner, RunsThatShareASeedShareDataInitialisationAndOrder) {
  // Two variants with the same settings under different names: bit-identical results.
  nlohmann::json j = tiny_study_json();
  j["variants"] = {{{"name", "same-a"}}, {{"name", "same-b"}}};
  j["comparisons"] = nlohmann::json::array();
  const StudyConfig config = study_config_from_json(j, "test");
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const StudyOutcome o = run_study(config, store, one_thread());
  ASSERT_FALSE(o.interrupted);
  const auto m = metrics_by_run(o.runs);
  ASSERT_EQ(m.size(), 4u);
  const auto at = [&](const std::string& variant, int64_t seed) {
    return m.at(std::make_pair(variant, seed));
  };
  for (const int64_t seed : {0, 1}) {
    EXPECT_EQ(at("same-a", seed), at("same-b", seed)) << "seed " << seed;
    EXPECT_FALSE(at("same-a", seed)["fp32_acc"].is_null());
  }
  // Another seed draws other images and another initialisation.
  EXPECT_NE(at("same-a", 0)["train_digest"], at("same-a", 1)["train_digest"]);
  EXPECT_NE(at("same-a", 0)["final_train_loss"], at("same-a", 1)["final_train_loss"]);
  EXPECT_EQ(store.get_experiment(o.experiment_id).kind, "study");
  EXPECT_EQ(store.get_experiment(o.experiment_id).status, ExperimentStatus::kDone);
  for (const StudyRunRecord& r : o.runs) {
    EXPECT_EQ(r.status, StudyRunStatus::kDone);
    EXPECT_GT(r.wall_s, 0);
  }
}

TEST(StudyRunner, ResumeAfterAStopMidRunRunsOnlyTheRestAndEqualsAnUninterruptedStudy) {
  nlohmann::json j = tiny_study_json();
  j["seeds"] = {0, 1, 2};
  const StudyConfig config = study_config_from_json(j, "test");
  TempDir dir;
  Store whole(dir.file("whole.sqlite"));
  const StudyOutcome reference = run_study(config, whole, one_thread());

  // Stop in the middle of the third run's training.
  Store store(dir.file("parts.sqlite"));
  std::atomic<bool> stop{false};
  int finished = 0;
  StudyOptions first = one_thread();
  first.stop = &stop;
  first.on_progress = [&](const StudyProgress& p) { finished += p.record ? 1 : 0; };
  first.train_callbacks = [&](const StudyVariant&, int64_t) {
    TrainCallbacks c;
    c.on_step = [&](const StepInfo& s) {
      if (finished == 2 && s.global_step >= 1) stop = true;
      return false;
    };
    return c;
  };
  const StudyOutcome cut = run_study(config, store, first);
  EXPECT_TRUE(cut.interrupted);
  EXPECT_EQ(store.get_experiment(cut.experiment_id).status, ExperimentStatus::kInterrupted);
  ASSERT_EQ(cut.runs.size(), 3u);  // two done, the third left running
  int running = 0;
  for (const StudyRunRecord& r : cut.runs) running += r.status == StudyRunStatus::kRunning;
  EXPECT_EQ(running, 1);

  int trained = 0, skipped = 0;
  StudyOptions again = one_thread();
  again.on_progress = [&](const StudyProgress& p) {
    if (p.record) (p.skipped ? skipped : trained) += 1;
  };
  const StudyOutcome resumed = resume_study(store, cut.experiment_id, again);
  EXPECT_FALSE(resumed.interrupted);
  EXPECT_EQ(skipped, 2);
  EXPECT_EQ(trained, 4);
  EXPECT_EQ(store.get_experiment(cut.experiment_id).status, ExperimentStatus::kDone);
  EXPECT_EQ(metrics_by_run(resumed.runs), metrics_by_run(reference.runs));
  EXPECT_EQ(to_json(analyze_study(resumed.config, resumed.runs)),
            to_json(analyze_study(config, reference.runs)));
}

TEST(StudyRunner, ResumeRefusesAnExperimentThatIsNoStudy) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  ExperimentRecord e;
  e.kind = "search";
  e.name = "s";
  const int64_t id = store.create_experiment(e).id;
  try {
    resume_study(store, id, one_thread());
    FAIL() << "a search was resumed as a study";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("is a search, not a study"), std::string::npos);
  }
}

TEST(StudyAnalysis, EqualsPairedStatisticsOfTheStoredValuesOverPairedSeeds) {
  nlohmann::json j = tiny_study_json();
  j["seeds"] = {0, 1, 2, 3, 4};
  j["variants"] = {{{"name", "x"}}, {{"name", "y"}}, {{"name", "z"}}};
  j["comparisons"] = {{{"a", "x"}, {"b", "y"}},
                      {{"a", "x"}, {"b", "z"}, {"criteria", {{"alpha", 0.2}, {"margin", 5}}}}};
  j.erase("criteria");
  const StudyConfig config = study_config_from_json(j, "test");
  const std::vector<double> x{80.0, 81.5, 79.0, 82.0, 80.5};
  const std::vector<double> y{81.0, 83.0, 79.5, 84.0, 81.0};
  const std::vector<double> z{80.2, 81.4, 79.3, 82.1, 0};
  std::vector<StudyRunRecord> runs;
  for (int64_t s = 0; s < 5; ++s) {
    runs.push_back(fake_run("x", s, StudyRunStatus::kDone, x[s]));
    runs.push_back(fake_run("y", s, StudyRunStatus::kDone, y[s]));
    // z: seed 4 diverged, so x - z pairs seeds 0..3 only.
    runs.push_back(
        fake_run("z", s, s == 4 ? StudyRunStatus::kFailed : StudyRunStatus::kDone, z[s]));
  }
  const StudyAnalysis a = analyze_study(config, runs);
  ASSERT_EQ(a.per_metric[0].variants.size(), 3u);
  EXPECT_DOUBLE_EQ(a.per_metric[0].variants[0].summary.mean, summarize(x).mean);
  EXPECT_DOUBLE_EQ(a.per_metric[0].variants[0].summary.sd, summarize(x).sd);
  EXPECT_EQ(a.per_metric[0].variants[2].summary.n, 4);
  EXPECT_EQ(a.per_metric[0].variants[2].failed, 1);
  EXPECT_EQ(a.runs_done, 14);
  EXPECT_EQ(a.runs_failed, 1);
  EXPECT_EQ(a.runs_pending, 0);

  const PairedComparison xy = compare_paired(x, y);
  const PairedComparison xz =
      compare_paired({x.begin(), x.begin() + 4}, {z.begin(), z.begin() + 4});
  ASSERT_EQ(a.comparisons.size(), 2u);
  ASSERT_TRUE(a.comparisons[0].stats && a.comparisons[1].stats);
  EXPECT_EQ(a.comparisons[1].seeds, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(a.comparisons[0].stats->mean_diff, xy.mean_diff);
  EXPECT_DOUBLE_EQ(a.comparisons[0].stats->ci_low, xy.ci_low);
  EXPECT_DOUBLE_EQ(a.comparisons[0].stats->ci_high, xy.ci_high);
  EXPECT_DOUBLE_EQ(a.comparisons[1].stats->t_p, xz.t_p);
  EXPECT_DOUBLE_EQ(a.comparisons[1].stats->sign_flip_p, xz.sign_flip_p);
  const std::vector<double> t_holm = holm_adjust({xy.t_p, xz.t_p});
  const std::vector<double> flip_holm = holm_adjust({xy.sign_flip_p, xz.sign_flip_p});
  EXPECT_DOUBLE_EQ(a.comparisons[0].t_p_holm, t_holm[0]);
  EXPECT_DOUBLE_EQ(a.comparisons[1].t_p_holm, t_holm[1]);
  EXPECT_DOUBLE_EQ(a.comparisons[0].sign_flip_p_holm, flip_holm[0]);
  EXPECT_DOUBLE_EQ(a.comparisons[1].sign_flip_p_holm, flip_holm[1]);
  // Criteria only on the second comparison: a verdict there, none on the first.
  EXPECT_FALSE(a.comparisons[0].verdict.has_value());
  ASSERT_TRUE(a.comparisons[1].verdict.has_value());
  EXPECT_EQ(*a.comparisons[1].verdict, judge(xz, t_holm[1], 0.2, 5));
  EXPECT_EQ(*a.comparisons[1].verdict, Verdict::kNotReproduced);  // |diff| well inside ±5

  const nlohmann::json out = to_json(a);
  EXPECT_EQ(out["metrics"][0], "fp32_acc");
  EXPECT_DOUBLE_EQ(out["comparisons"][0]["t_p_holm"].get<double>(), t_holm[0]);
  EXPECT_TRUE(out["comparisons"][0]["verdict"].is_null());
  EXPECT_EQ(out["comparisons"][1]["verdict"], "not reproduced");
}

TEST(StudyAnalysis, LeavesComparisonsWithFewerThanTwoPairsWithoutStatistics) {
  const StudyConfig config = study_config_from_json(tiny_study_json(), "test");
  const std::vector<StudyRunRecord> runs{fake_run("low", 0, StudyRunStatus::kDone, 50),
                                         fake_run("high", 0, StudyRunStatus::kDone, 60),
                                         fake_run("high", 1, StudyRunStatus::kDone, 61)};
  const StudyAnalysis a = analyze_study(config, runs);
  EXPECT_FALSE(a.comparisons[0].stats.has_value());
  EXPECT_FALSE(a.comparisons[0].verdict.has_value());
  EXPECT_EQ(a.per_metric[0].variants[0].pending, 1);  // low, seed 1: never ran
  EXPECT_EQ(a.per_metric[0].variants[1].summary.n, 2);
  EXPECT_DOUBLE_EQ(a.per_metric[0].variants[1].summary.mean, 60.5);
}
