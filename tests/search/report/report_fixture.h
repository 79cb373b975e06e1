#pragma once

// A small experiment database written with the Store API, with hand-checkable
// Pareto membership:
//
//   model            INT8   latency  reward  FP32
//   #1 (search)      70.0   0.50     0.60    71.5
//   #2 (search)      75.0   0.60     0.70    -
//   #3 (search)      72.0   0.70     0.65    73.0
//   #4 (search)      80.0   0.90     0.72    82.5   (latency measured, 0.90; predicted 0.85)
//   #5 (search)      failed                  -1.0   error "out of <memory> & time"
//   frostnet-small   74.0   0.55     -       75.0   (baseline experiment)
//   mbv2 <&> "x"     78.0   0.95     -       80.0   (baseline experiment)
//
// Front of all models, by latency: #1, frostnet-small, #2, #4 (#3 is dominated by
// #2 and by frostnet-small; mbv2 by #4). Baselines' front: frostnet-small, mbv2.
// Beyond the baselines' front: #1, #2, #4 (not #3: frostnet-small is more accurate
// and faster).
#include <cmath>
#include <string>

#include "search/store/store.h"
#include "space/net_spec.h"

namespace frostnas::testing {

struct ReportDb {
  int64_t search_id = 0;
  int64_t baseline_id = 0;
  int64_t empty_id = 0;
};

inline nlohmann::json named_arch(const std::string& name, int64_t stem_channels) {
  NetSpec net =
      load_net_spec(std::string(FROSTNAS_SOURCE_DIR) + "/experiments/archs/proxy_default.json");
  net.name = name;
  net.stem.channels = stem_channels;
  return to_json(net);
}

inline void add_done(Store& store, int64_t experiment, const std::string& name, int64_t stem,
                     double int8, double latency, std::optional<double> reward,
                     std::optional<double> fp32, std::optional<double> measured = std::nullopt) {
  const CandidateRecord c =
      store.add_candidate(experiment, named_arch(name, stem), "hash-" + name, latency);
  CandidateResult r;
  r.candidate_id = c.id;
  r.int8_acc = int8;
  r.fp32_acc = fp32;
  r.qat_acc = int8 + 0.25;
  r.predicted_latency_ms = latency;
  r.measured_latency_ms = measured;
  r.reward = reward;
  r.train_seconds = 12.5;
  store.finish_candidate(r);
}

inline ReportDb make_report_db(const std::string& path) {
  Store store(path);
  ReportDb ids;
  ExperimentRecord e;
  e.kind = "search";
  e.name = "quick <search> & \"co\"";
  e.config = {{"latency", {{"precision", "int8"}, {"target_ms", 0.6}}},
              {"note", "</pre><script>alert(1)</script>"}};
  e.seed = 7;
  e.program_version = "0.1.0";
  ids.search_id = store.create_experiment(e).id;
  ExperimentRecord b = e;
  b.kind = "baseline";
  b.name = "baselines";
  b.config = nlohmann::json::object();
  ids.baseline_id = store.create_experiment(b).id;
  ExperimentRecord empty = e;
  empty.name = "empty";
  empty.config = nlohmann::json::object();
  ids.empty_id = store.create_experiment(empty).id;

  add_done(store, ids.search_id, "c1", 16, 70.0, 0.50, 0.60, 71.5);
  add_done(store, ids.search_id, "c2", 18, 75.0, 0.60, 0.70, std::nullopt);
  add_done(store, ids.search_id, "c3", 20, 72.0, 0.70, 0.65, 73.0);
  add_done(store, ids.search_id, "c4", 22, 80.0, 0.85, 0.72, 82.5, 0.90);
  const CandidateRecord failed =
      store.add_candidate(ids.search_id, named_arch("c5", 24), "hash-c5", 0.4);
  CandidateResult f;
  f.candidate_id = failed.id;
  f.status = CandidateStatus::kFailed;
  f.reward = -1.0;
  f.error = "out of <memory> & time";
  store.finish_candidate(f);

  add_done(store, ids.baseline_id, "frostnet-small", 26, 74.0, 0.55, std::nullopt, 75.0);
  add_done(store, ids.baseline_id, "mbv2 <&> \"x\"", 28, 78.0, 0.95, std::nullopt, 80.0);

  // Cell search weights: stage 1 in the "edges" form (two epochs), stage 2 as a named
  // matrix, stage 3 malformed (a warning, not an error).
  store.add_arch_weights(
      ids.search_id, 1, 0,
      {{"edges",
        {{{"name", "0->1"}, {"ops", {"none", "skip", "dwconv_3x3"}}, {"alpha", {0, 0, 0}}}}}});
  store.add_arch_weights(ids.search_id, 1, 1,
                         {{"edges",
                           {{{"name", "0->1"},
                             {"ops", {"none", "skip", "dwconv_3x3"}},
                             {"alpha", {0.0, std::log(2.0), std::log(5.0)}}}}}});
  store.add_arch_weights(
      ids.search_id, 2, 0,
      {{"ops", {"skip", "conv_1x1"}}, {"normal", {{0.0, 0.0}, {std::log(3.0), 0.0}}}});
  store.add_arch_weights(ids.search_id, 3, 0, {{"edges", "bad"}});
  store.set_stage(ids.search_id, "search", StageStatus::kDone, {{"best", 4}});
  store.log_event(ids.search_id, EventLevel::kWarning, "slow <step>");
  return ids;
}

/// A pipeline experiment (no candidates of its own) whose stages name a search
/// experiment (#1: 70% / 0.50 ms, #2: 75% / 0.60 ms), a cell search (one edge, skip
/// 0.25 / se 0.75, in the cell search's own format) and, in a final experiment, the
/// found model "found-1" (78% / 0.55 ms) and the baseline "frostnet-small" (77% / 0.50
/// ms) plus a baseline candidate id that does not exist. Returns the pipeline's id.
/// Front: frostnet-small, found-1; found-1 is beyond the baselines, #1 and #2 are not.
inline int64_t make_pipeline_db(const std::string& path) {
  Store store(path);
  auto experiment = [&](const std::string& kind) {
    ExperimentRecord e;
    e.kind = kind;
    e.name = kind;
    return store.create_experiment(e).id;
  };
  const int64_t search = experiment("search");
  add_done(store, search, "s1", 16, 70.0, 0.50, 0.6, 71.0);
  add_done(store, search, "s2", 18, 75.0, 0.60, 0.7, 76.0);
  const int64_t cell = experiment("cell-search");
  // The cell search's own format: softmaxed "weights" plus training figures.
  store.add_arch_weights(
      cell, 1, 0,
      {{"nodes", 1},
       {"edges", {{{"from", 0}, {"to", 1}, {"ops", {"skip", "se"}}, {"weights", {0.25, 0.75}}}}},
       {"depth", 2},
       {"val_acc", 50.0}});
  const int64_t final_id = experiment("pipeline-final");
  add_done(store, final_id, "found-1", 20, 78.0, 0.55, std::nullopt, 79.0, 0.55);
  add_done(store, final_id, "frostnet-small", 22, 77.0, 0.50, std::nullopt, 78.0, 0.50);
  add_done(store, final_id, "unlisted", 24, 99.0, 0.10, std::nullopt, 99.0);
  const auto finals = store.list_candidates(final_id);
  const int64_t pipeline = experiment("pipeline");
  store.set_stage(pipeline, "cell_search", StageStatus::kDone, {{"experiment_id", cell}});
  store.set_stage(pipeline, "search", StageStatus::kDone, {{"experiment_id", search}});
  store.set_stage(pipeline, "retrain", StageStatus::kDone,
                  {{"experiment_id", final_id},
                   {"models", {{{"candidate_id", finals[0].id}, {"name", "found-1"}}}}});
  store.set_stage(pipeline, "baselines", StageStatus::kDone,
                  {{"experiment_id", final_id},
                   {"models",
                    {{{"candidate_id", finals[1].id}, {"name", "frostnet-small"}},
                     {{"candidate_id", 9999}, {"name", "ghost"}}}}});
  return pipeline;
}

}  // namespace frostnas::testing
