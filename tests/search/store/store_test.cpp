#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "search/store/store.h"
#include "space/builtin_archs.h"
#include "tests/common/input_error.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;

namespace {

ExperimentRecord make_experiment(Store& store, const std::string& kind = "search") {
  ExperimentRecord e;
  e.kind = kind;
  e.name = "exp-" + kind;
  e.config = {{"epochs", 5}, {"target_ms", 12.5}};
  e.seed = 42;
  e.program_version = "0.1.0";
  return store.create_experiment(e);
}

CandidateResult done_result(int64_t candidate_id, double reward) {
  CandidateResult r;
  r.candidate_id = candidate_id;
  r.fp32_acc = 0.9;
  r.qat_acc = 0.89;
  r.int8_acc = 0.88;
  r.measured_latency_ms = 3.25;
  r.reward = reward;
  r.train_seconds = 61.5;
  return r;
}

StrategyState state_at(int64_t experiment_id, int64_t step) {
  StrategyState s;
  s.experiment_id = experiment_id;
  s.step = step;
  s.state = {{"step", step}, {"baseline", 0.5 + 0.01 * static_cast<double>(step)}};
  return s;
}

bool is_utc_timestamp(const std::string& t) {
  return t.size() == 24 && t[4] == '-' && t[10] == 'T' && t[19] == '.' && t.back() == 'Z';
}

}  // namespace

TEST(Store, ExperimentRoundTripAndStatus) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const ExperimentRecord a = make_experiment(store, "search");
  const ExperimentRecord b = make_experiment(store, "cell-search");
  EXPECT_EQ(a.id, 1);
  EXPECT_EQ(b.id, 2);
  const ExperimentRecord got = store.get_experiment(a.id);
  EXPECT_EQ(got.kind, "search");
  EXPECT_EQ(got.name, "exp-search");
  EXPECT_EQ(got.config, nlohmann::json({{"epochs", 5}, {"target_ms", 12.5}}));
  EXPECT_EQ(got.seed, 42);
  EXPECT_EQ(got.status, ExperimentStatus::kRunning);
  EXPECT_EQ(got.program_version, "0.1.0");
  EXPECT_TRUE(is_utc_timestamp(got.created_at)) << got.created_at;
  EXPECT_EQ(got.created_at, got.updated_at);

  ASSERT_EQ(store.list_experiments().size(), 2u);
  const auto cells = store.list_experiments("cell-search");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].id, b.id);

  store.set_experiment_status(a.id, ExperimentStatus::kInterrupted);
  EXPECT_EQ(store.get_experiment(a.id).status, ExperimentStatus::kInterrupted);
  EXPECT_THROW(store.get_experiment(99), InputError);
  EXPECT_THROW(store.set_experiment_status(99, ExperimentStatus::kDone), InputError);

  const nlohmann::json j = to_json(got);
  EXPECT_EQ(j.at("id"), a.id);
  EXPECT_EQ(j.at("status"), "running");
  EXPECT_EQ(to_json(store.get_experiment(a.id)).at("status"), "interrupted");
  EXPECT_EQ(j.at("config").at("epochs"), 5);
}

TEST(Store, CandidateHashIsUniquePerExperiment) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const int64_t e1 = make_experiment(store).id;
  const int64_t e2 = make_experiment(store).id;
  const NetSpec small = frostnet_spec("small", 0.5);
  const NetSpec base = frostnet_spec("base", 0.5);

  const CandidateRecord c1 = store.add_candidate(e1, small, 4.5);
  const CandidateRecord c2 = store.add_candidate(e1, base);
  const CandidateRecord c3 = store.add_candidate(e2, small);
  EXPECT_EQ(c1.seq, 1);
  EXPECT_EQ(c2.seq, 2);
  EXPECT_EQ(c3.seq, 1);
  EXPECT_EQ(c1.status, CandidateStatus::kQueued);
  EXPECT_EQ(to_json(c1).at("status"), "queued");
  EXPECT_EQ(c1.arch, to_json(small));
  EXPECT_EQ(c1.arch_hash, arch_hash(small));
  EXPECT_EQ(c1.predicted_latency_ms, 4.5);
  EXPECT_FALSE(c2.predicted_latency_ms.has_value());
  EXPECT_EQ(net_spec_from_json(c1.arch, "store"), small);

  EXPECT_THROW(store.add_candidate(e1, small), std::logic_error);
  EXPECT_EQ(store.list_candidates(e1).size(), 2u);

  const auto found = store.find_candidate_by_hash(e1, arch_hash(base));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, c2.id);
  EXPECT_FALSE(store.find_candidate_by_hash(e2, arch_hash(base)).has_value());
  EXPECT_THROW(store.add_candidate(99, base), InputError);
}

TEST(Store, CandidateLifecycle) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const int64_t exp = make_experiment(store).id;
  const int64_t id = store.add_candidate(exp, {{"k", 3}}, "hash-a", 2.0).id;
  store.mark_running(id);
  EXPECT_EQ(store.get_candidate(id).status, CandidateStatus::kRunning);
  store.finish_candidate(done_result(id, 0.75));

  const CandidateRecord c = store.get_candidate(id);
  EXPECT_EQ(c.status, CandidateStatus::kDone);
  EXPECT_EQ(c.fp32_acc, 0.9);
  EXPECT_EQ(c.qat_acc, 0.89);
  EXPECT_EQ(c.int8_acc, 0.88);
  EXPECT_EQ(c.predicted_latency_ms, 2.0);  // kept: the result has none
  EXPECT_EQ(c.measured_latency_ms, 3.25);
  EXPECT_EQ(c.reward, 0.75);
  EXPECT_EQ(c.train_seconds, 61.5);
  EXPECT_EQ(c.error, "");

  EXPECT_THROW(store.finish_candidate(done_result(id, 0.1)), std::logic_error);
  EXPECT_THROW(store.mark_running(id), std::logic_error);
  EXPECT_EQ(store.get_candidate(id).reward, 0.75);

  const int64_t bad = store.add_candidate(exp, {{"k", 5}}, "hash-b").id;
  CandidateResult failed;
  failed.candidate_id = bad;
  failed.status = CandidateStatus::kFailed;
  failed.error = "loss is NaN";
  store.finish_candidate(failed);
  const CandidateRecord f = store.get_candidate(bad);
  EXPECT_EQ(f.status, CandidateStatus::kFailed);
  EXPECT_EQ(to_json(f).at("status"), "failed");
  EXPECT_EQ(f.error, "loss is NaN");
  EXPECT_FALSE(f.reward.has_value());
  EXPECT_TRUE(to_json(f).at("reward").is_null());

  CandidateResult wrong = done_result(store.add_candidate(exp, {}, "hash-c").id, 0.5);
  wrong.status = CandidateStatus::kRunning;
  EXPECT_THROW(store.finish_candidate(wrong), std::logic_error);
  EXPECT_EQ(store.get_candidate(wrong.candidate_id).status, CandidateStatus::kQueued);
  EXPECT_THROW(store.mark_running(12345), InputError);
}

TEST(Store, TopCandidatesByRewardAndStatusFilter) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const int64_t exp = make_experiment(store).id;
  const std::vector<double> rewards{0.5, 0.9, 0.7, 0.9, 0.2};
  std::vector<int64_t> ids;
  for (size_t i = 0; i < rewards.size(); ++i) {
    ids.push_back(store.add_candidate(exp, {{"i", i}}, "h" + std::to_string(i)).id);
    store.finish_candidate(done_result(ids.back(), rewards[i]));
  }
  CandidateResult failed;
  failed.candidate_id = store.add_candidate(exp, {{"i", 5}}, "h5").id;
  failed.status = CandidateStatus::kFailed;
  failed.reward = 5.0;  // failed candidates never rank
  store.finish_candidate(failed);
  store.mark_running(store.add_candidate(exp, {{"i", 6}}, "h6").id);
  store.add_candidate(exp, {{"i", 7}}, "h7");

  const auto top = store.top_candidates(exp, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].seq, 2);  // 0.9, first of the tie
  EXPECT_EQ(top[1].seq, 4);  // 0.9
  EXPECT_EQ(top[2].seq, 3);  // 0.7
  EXPECT_EQ(store.top_candidates(exp, 100).size(), 5u);
  EXPECT_TRUE(store.top_candidates(exp, 0).empty());

  EXPECT_EQ(store.list_candidates(exp).size(), 8u);
  EXPECT_EQ(store.list_candidates(exp, CandidateStatus::kDone).size(), 5u);
  EXPECT_EQ(store.list_candidates(exp, CandidateStatus::kFailed).size(), 1u);
  ASSERT_EQ(store.list_candidates(exp, CandidateStatus::kRunning).size(), 1u);
  EXPECT_EQ(store.list_candidates(exp, CandidateStatus::kRunning)[0].seq, 7);
  ASSERT_EQ(store.list_candidates(exp, CandidateStatus::kQueued).size(), 1u);
  EXPECT_EQ(store.list_candidates(exp, CandidateStatus::kQueued)[0].seq, 8);
}

TEST(Store, CommitResultWritesCandidateAndStateTogether) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const int64_t exp = make_experiment(store).id;
  const int64_t other = make_experiment(store).id;
  const int64_t c1 = store.add_candidate(exp, {{"i", 1}}, "h1").id;
  const int64_t c2 = store.add_candidate(exp, {{"i", 2}}, "h2").id;
  EXPECT_FALSE(store.load_strategy_state(exp).has_value());

  store.mark_running(c1);
  store.commit_result(done_result(c1, 0.6), state_at(exp, 1));
  EXPECT_EQ(store.get_candidate(c1).status, CandidateStatus::kDone);
  ASSERT_TRUE(store.load_strategy_state(exp).has_value());
  EXPECT_EQ(store.load_strategy_state(exp)->state, state_at(exp, 1).state);

  // The state write fails (its step does not advance): the candidate update rolls back.
  store.mark_running(c2);
  EXPECT_THROW(store.commit_result(done_result(c2, 0.8), state_at(exp, 1)), std::logic_error);
  CandidateRecord after = store.get_candidate(c2);
  EXPECT_EQ(after.status, CandidateStatus::kRunning);
  EXPECT_FALSE(after.reward.has_value());
  EXPECT_FALSE(after.fp32_acc.has_value());
  EXPECT_EQ(store.load_strategy_state(exp)->step, 1);

  // A state of another experiment is refused before anything is written.
  EXPECT_THROW(store.commit_result(done_result(c2, 0.8), state_at(other, 1)), std::logic_error);
  EXPECT_EQ(store.get_candidate(c2).status, CandidateStatus::kRunning);
  EXPECT_FALSE(store.load_strategy_state(other).has_value());

  // A finished candidate is not committed twice, and its state is not written either.
  EXPECT_THROW(store.commit_result(done_result(c1, 0.9), state_at(exp, 2)), std::logic_error);
  EXPECT_EQ(store.load_strategy_state(exp)->step, 1);
  EXPECT_EQ(store.get_candidate(c1).reward, 0.6);

  store.commit_result(done_result(c2, 0.8), state_at(exp, 2));
  EXPECT_EQ(store.get_candidate(c2).reward, 0.8);
  EXPECT_EQ(store.load_strategy_state(exp)->step, 2);
  EXPECT_EQ(store.integrity_check(), "ok");
}

TEST(Store, StrategyStateKeepsBinaryBlob) {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  const std::string blob("\x00\x01\xff torch module \x00 bytes", 24);
  int64_t exp = 0;
  {
    Store store(path);
    exp = make_experiment(store).id;
    StrategyState s = state_at(exp, 3);
    s.blob = blob;
    store.save_strategy_state(s);
    EXPECT_THROW(store.save_strategy_state(state_at(exp, 2)), std::logic_error);
    EXPECT_THROW(store.save_strategy_state(state_at(77, 1)), InputError);
  }
  Store store(path);
  const auto s = store.load_strategy_state(exp);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->step, 3);
  EXPECT_EQ(s->blob, blob);
  EXPECT_EQ(s->state.at("step"), 3);
  EXPECT_EQ(to_json(*s).at("blob_bytes"), 24);
  store.save_strategy_state(state_at(exp, 4));
  EXPECT_TRUE(store.load_strategy_state(exp)->blob.empty());
}

TEST(Store, LatencyEntriesRoundTripPerFingerprint) {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  Store store(path);
  Fingerprint a;
  a.cpu_model = "Xeon";
  a.cores = 2;
  a.engine = "fbgemm";
  a.threads = 1;
  a.torch_version = "1.13.1";
  a.text = "governor=performance";
  Fingerprint b = a;
  b.threads = 2;
  const int64_t fa = store.upsert_fingerprint(a);
  const int64_t fb = store.upsert_fingerprint(b);
  EXPECT_NE(fa, fb);
  EXPECT_EQ(store.upsert_fingerprint(a), fa);
  const auto fps = store.list_fingerprints();
  ASSERT_EQ(fps.size(), 2u);
  EXPECT_EQ(fps[1].threads, 2);
  EXPECT_EQ(fps[0].text, "governor=performance");

  LatencyEntry e;
  e.fingerprint_id = fa;
  e.key = "frost:k3:e4:s1:16x16x24->16x16x24";
  e.precision = "int8";
  e.median_ms = 0.125;
  e.spread_ms = 0.01;
  e.samples = 50;
  store.put_latency(e);
  LatencyEntry fp32 = e;
  fp32.precision = "fp32";
  fp32.median_ms = 0.5;
  LatencyEntry stem = e;
  stem.key = "conv:k3:s2:32x32x3->16x16x16";
  stem.measured_at = "2024-01-01T00:00:00.000Z";
  store.put_latencies({fp32, stem});

  const auto got = store.get_latency(fa, e.key, "int8");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->median_ms, 0.125);
  EXPECT_EQ(got->spread_ms, 0.01);
  EXPECT_EQ(got->samples, 50);
  EXPECT_TRUE(is_utc_timestamp(got->measured_at));
  EXPECT_EQ(store.get_latency(fa, e.key, "fp32")->median_ms, 0.5);
  EXPECT_FALSE(store.get_latency(fb, e.key, "int8").has_value());
  EXPECT_TRUE(store.list_latency(fb).empty());

  const auto list = store.list_latency(fa);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].key, stem.key);  // ordered by key, then precision
  EXPECT_EQ(list[0].measured_at, "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(list[1].precision, "fp32");
  EXPECT_EQ(list[2].precision, "int8");

  e.median_ms = 0.25;  // a re-measurement replaces the entry
  store.put_latency(e);
  EXPECT_EQ(store.get_latency(fa, e.key, "int8")->median_ms, 0.25);
  EXPECT_EQ(store.list_latency(fa).size(), 3u);

  {  // rows written under another latency-table version are not read
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    SQLite::Statement q(raw, "UPDATE latency SET table_version = ? WHERE precision = 'fp32'");
    q.bind(1, kLatencyTableVersion + 1);
    EXPECT_EQ(q.exec(), 1);
  }
  EXPECT_FALSE(store.get_latency(fa, e.key, "fp32").has_value());
  EXPECT_EQ(store.list_latency(fa).size(), 2u);
  EXPECT_EQ(to_json(list[1]).at("median_ms"), 0.5);
}

TEST(Store, ArchWeightsEventsAndStagesRoundTrip) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const int64_t exp = make_experiment(store, "cell-search").id;
  const int64_t other = make_experiment(store, "pipeline").id;

  store.add_arch_weights(exp, 2, 0, {{"normal", {{0.1, 0.9}}}});
  store.add_arch_weights(exp, 1, 1, {{"normal", {{0.3, 0.7}}}});
  store.add_arch_weights(exp, 1, 0, {{"normal", {{0.5, 0.5}}}});
  store.add_arch_weights(exp, 1, 1, {{"normal", {{0.2, 0.8}}}});  // replaces epoch 1
  const auto weights = store.list_arch_weights(exp);
  ASSERT_EQ(weights.size(), 3u);
  EXPECT_EQ(weights[0].stage, 1);
  EXPECT_EQ(weights[0].epoch, 0);
  EXPECT_EQ(weights[1].weights, nlohmann::json({{"normal", {{0.2, 0.8}}}}));
  EXPECT_EQ(weights[2].stage, 2);
  EXPECT_TRUE(store.list_arch_weights(other).empty());

  store.log_event(exp, EventLevel::kInfo, "stage 1 started");
  store.log_event(other, EventLevel::kInfo, "other experiment");
  store.log_event(exp, EventLevel::kWarning, "lr reduced; \"quoted\" 'text'");
  const auto events = store.list_events(exp);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].message, "stage 1 started");
  EXPECT_EQ(events[0].level, EventLevel::kInfo);
  EXPECT_EQ(events[1].level, EventLevel::kWarning);
  EXPECT_EQ(events[1].message, "lr reduced; \"quoted\" 'text'");
  EXPECT_LT(events[0].id, events[1].id);
  EXPECT_TRUE(is_utc_timestamp(events[0].time));
  EXPECT_EQ(to_json(events[1]).at("level"), "warning");

  EXPECT_FALSE(store.get_stage(other, "search").has_value());
  store.set_stage(other, "search", StageStatus::kRunning);
  store.set_stage(other, "quantize", StageStatus::kPending);
  store.set_stage(other, "search", StageStatus::kDone, {{"best", 3}});
  const auto stage = store.get_stage(other, "search");
  ASSERT_TRUE(stage.has_value());
  EXPECT_EQ(stage->status, StageStatus::kDone);
  EXPECT_EQ(to_json(*stage).at("status"), "done");
  EXPECT_EQ(stage->result, nlohmann::json({{"best", 3}}));
  const auto stages = store.list_stages(other);
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].name, "quantize");
  EXPECT_TRUE(stages[0].result.empty());
  EXPECT_TRUE(store.list_stages(exp).empty());
}

namespace {

/// Every value of `Enum` (0 .. count-1) goes to its text and back; the texts are `names`.
template <typename Enum, typename Parse>
void expect_round_trip(const std::vector<std::string>& names, int count, Parse parse) {
  ASSERT_EQ(names.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto value = static_cast<Enum>(i);
    EXPECT_EQ(to_string(value), names[static_cast<size_t>(i)]);
    EXPECT_EQ(parse(to_string(value), "test"), value) << names[static_cast<size_t>(i)];
  }
}

}  // namespace

TEST(Store, StatusTextRoundTrips) {
  expect_round_trip<ExperimentStatus>(experiment_statuses(), 4, parse_experiment_status);
  expect_round_trip<CandidateStatus>(candidate_statuses(), 4, parse_candidate_status);
  expect_round_trip<StageStatus>(stage_statuses(), 5, parse_stage_status);
  expect_round_trip<EventLevel>(event_levels(), 4, parse_event_level);
  EXPECT_EQ(to_string(ExperimentStatus::kInterrupted), "interrupted");
  EXPECT_EQ(to_string(CandidateStatus::kQueued), "queued");
  EXPECT_EQ(to_string(StageStatus::kSkipped), "skipped");
  EXPECT_EQ(to_string(EventLevel::kWarning), "warning");

  EXPECT_EQ(frostnas::testing::input_error([] { parse_experiment_status("paused", "--status"); }),
            "--status: \"paused\" is not an experiment status (allowed: running, done, failed, "
            "interrupted)");
  EXPECT_EQ(frostnas::testing::input_error([] { parse_candidate_status("finished", "x"); }),
            "x: \"finished\" is not a candidate status (allowed: queued, running, done, failed)");
  EXPECT_EQ(frostnas::testing::input_error([] { parse_stage_status("halfway", "x"); }),
            "x: \"halfway\" is not a stage status (allowed: pending, running, done, failed, "
            "skipped)");
  EXPECT_EQ(frostnas::testing::input_error([] { parse_event_level("fatal", "x"); }),
            "x: \"fatal\" is not an event level (allowed: debug, info, warning, error)");
  EXPECT_FALSE(frostnas::testing::input_error([] {
                 parse_event_level("Info", "x");
               }).empty());  // exact text
}

TEST(Store, UnknownStatusTextInDatabaseIsInputError) {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  Store store(path);
  const int64_t exp = make_experiment(store).id;
  const int64_t cand = store.add_candidate(exp, {{"k", 1}}, "h1").id;
  store.set_stage(exp, "search", StageStatus::kRunning);
  store.log_event(exp, EventLevel::kInfo, "started");
  {
    // A row another program (or a newer frostnas) wrote, past the schema's CHECK constraints.
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA ignore_check_constraints = ON");
    raw.exec("UPDATE experiments SET status = 'paused'");
    raw.exec("UPDATE candidates SET status = 'finished'");
    raw.exec("UPDATE stages SET status = 'halfway'");
    raw.exec("UPDATE events SET level = 'fatal'");
  }
  EXPECT_EQ(frostnas::testing::input_error([&] { store.get_experiment(exp); }),
            path +
                ": experiments.status: \"paused\" is not an experiment status (allowed: running, "
                "done, failed, interrupted)");
  EXPECT_EQ(frostnas::testing::input_error([&] { store.list_candidates(exp); }),
            path +
                ": candidates.status: \"finished\" is not a candidate status (allowed: queued, "
                "running, done, failed)");
  EXPECT_EQ(frostnas::testing::input_error([&] { store.get_candidate(cand); }),
            frostnas::testing::input_error([&] { store.list_candidates(exp); }));
  EXPECT_EQ(frostnas::testing::input_error([&] { store.get_stage(exp, "search"); }),
            path +
                ": stages.status: \"halfway\" is not a stage status (allowed: pending, running, "
                "done, failed, skipped)");
  EXPECT_EQ(frostnas::testing::input_error([&] { store.list_events(exp); }),
            path +
                ": events.level: \"fatal\" is not an event level (allowed: debug, info, warning, "
                "error)");
}
