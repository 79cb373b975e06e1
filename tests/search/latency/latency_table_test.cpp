#include <cmath>

#include <gtest/gtest.h>

#include "common/error.h"
#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "search/latency/timing.h"
#include "tests/search/latency/lut_test_util.h"

namespace frostnas {
namespace {

using lut_testing::CountingMeasurer;
using lut_testing::fake_ms;
using lut_testing::TempDir;
using lut_testing::tiny_space;

Fingerprint test_fingerprint(int64_t threads = 1) {
  Fingerprint fp;
  fp.cpu_model = "Test CPU";
  fp.cores = 2;
  fp.engine = "onednn";
  fp.threads = threads;
  fp.torch_version = "1.13.0";
  fp.text = "latency-table v1";
  return fp;
}

// End-to-end "measurement" of the calibration networks: 1.5 x the table sum + 0.1 ms.
NetMeasureFn fake_networks(const LatencyTable* table, int* calls) {
  return [table, calls](const std::vector<NetSpec>& nets) {
    ++*calls;
    std::vector<NetTiming> out;
    for (const auto& n : nets) {
      double s = 0.0;
      for (const auto& key : net_lut_keys(resolve(n))) s += fake_ms(key);
      (void)table;
      out.push_back({{1.5 * s + 0.1, 0.0, 3}, {1.5 * 2 * s + 0.1, 0.0, 3}});
    }
    return out;
  };
}

TEST(LatencyTable, RoundTripsThroughTheStore) {
  TempDir dir;
  LatencyTable t;
  t.set("block:a", Precision::kInt8, 0.25, 0.01, 15);
  t.set("block:a", Precision::kFP32, 0.5, 0.02, 15);
  t.set("stem:s", Precision::kInt8, 1.0 / 3.0, 0.0, 7);
  t.set_correction(Precision::kFP32, {1.25, -0.01, 0.3, 6});
  int64_t id = 0;
  {
    Store store(dir.file("db.sqlite"));
    id = store.upsert_fingerprint(test_fingerprint());
    save_latency_table(store, id, t);
  }
  Store store(dir.file("db.sqlite"));
  const auto fp = find_fingerprint(store, test_fingerprint());
  ASSERT_TRUE(fp.has_value());
  EXPECT_EQ(fp->id, id);
  EXPECT_FALSE(find_fingerprint(store, test_fingerprint(2)).has_value());
  const LatencyTable back = load_latency_table(store, id);
  EXPECT_EQ(back.size(), 3u);
  EXPECT_EQ(back.entries().size(), t.entries().size());
  EXPECT_DOUBLE_EQ(back.ms("stem:s", Precision::kInt8), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(back.find("block:a", Precision::kFP32)->spread_ms, 0.02);
  EXPECT_EQ(back.find("block:a", Precision::kFP32)->samples, 15);
  const LinearCorrection c = back.correction(Precision::kFP32);
  EXPECT_DOUBLE_EQ(c.scale, 1.25);
  EXPECT_DOUBLE_EQ(c.per_block_ms, -0.01);
  EXPECT_DOUBLE_EQ(c.offset_ms, 0.3);
  EXPECT_EQ(c.networks, 6);
  EXPECT_EQ(back.correction(Precision::kInt8).networks, 0);  // identity
  EXPECT_DOUBLE_EQ(back.correction(Precision::kInt8).scale, 1.0);
}

TEST(LatencyTable, IncrementalBuildReusesEntries) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const SearchSpace space = tiny_space();
  const size_t n = lut_items(space).size();
  LutBuildOptions opts;
  opts.chunk = 4;
  opts.calibration_networks = 3;
  int net_calls = 0;

  CountingMeasurer first;
  std::vector<std::pair<size_t, size_t>> progress;
  auto r = build_latency_table(store, test_fingerprint(), space, first,
                               fake_networks(nullptr, &net_calls), opts, [&](size_t d, size_t t) {
                                 progress.push_back({d, t});
                               });
  EXPECT_EQ(first.measured, n);
  EXPECT_EQ(first.calls, 3);  // 11 items in chunks of 4
  EXPECT_EQ(r.measured, n);
  EXPECT_EQ(r.reused, 0u);
  EXPECT_TRUE(r.calibrated);
  EXPECT_EQ(net_calls, 1);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front(), std::make_pair(size_t{0}, n));
  EXPECT_EQ(progress.back(), std::make_pair(n, n));
  // The fake networks are 1.5 x sum + 0.1: the fitted correction reproduces them
  // (within 2%: the ridge shares the gain between the terms).
  EXPECT_EQ(r.int8.networks, 3);
  const LinearCorrection fitted = r.int8;
  for (const auto& n : calibration_networks(space, 3, opts.calibration_seed)) {
    double s = 0.0;
    for (const auto& key : net_lut_keys(resolve(n))) s += fake_ms(key);
    EXPECT_NEAR(fitted.apply(s, static_cast<int64_t>(n.num_blocks())) / (1.5 * s + 0.1), 1.0, 0.02);
  }

  CountingMeasurer second;
  r = build_latency_table(store, test_fingerprint(), space, second,
                          fake_networks(nullptr, &net_calls), opts);
  EXPECT_EQ(second.measured, 0u);
  EXPECT_EQ(r.reused, n);
  EXPECT_FALSE(r.calibrated);
  EXPECT_EQ(net_calls, 1);
  EXPECT_DOUBLE_EQ(r.int8.scale, fitted.scale);  // kept from the store

  opts.force = true;
  CountingMeasurer forced;
  r = build_latency_table(store, test_fingerprint(), space, forced,
                          fake_networks(nullptr, &net_calls), opts);
  EXPECT_EQ(r.measured, n);
  EXPECT_EQ(forced.measured, n);
  EXPECT_TRUE(r.calibrated);
  EXPECT_EQ(net_calls, 2);

  // Another thread count is another fingerprint: measured from scratch.
  opts.force = false;
  CountingMeasurer other;
  r = build_latency_table(store, test_fingerprint(2), space, other, {}, opts);
  EXPECT_EQ(other.measured, n);
  EXPECT_EQ(store.list_fingerprints().size(), 2u);

  const LatencyTable t = load_latency_table(store, store.upsert_fingerprint(test_fingerprint()));
  EXPECT_EQ(t.size(), 2 * n);  // INT8 and FP32 rows
  for (const auto& item : lut_items(space)) {
    EXPECT_DOUBLE_EQ(t.ms(item.key, Precision::kInt8), fake_ms(item.key));
    EXPECT_DOUBLE_EQ(t.ms(item.key, Precision::kFP32), 2 * fake_ms(item.key));
  }
}

TEST(LatencyTable, PerTensorEntriesAndCorrectionAreKeptApart) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const SearchSpace space = tiny_space();
  const size_t n = lut_items(space).size();
  LutBuildOptions opts;
  opts.calibration_networks = 3;
  int net_calls = 0;
  CountingMeasurer pc;
  const auto r_pc = build_latency_table(store, test_fingerprint(), space, pc,
                                        fake_networks(nullptr, &net_calls), opts);
  EXPECT_EQ(pc.measured, n);
  // The same machine, per-tensor weights: every entry with weights is new, the io entry
  // is shared, and the correction is fitted for the scheme.
  opts.weight_quant = WeightQuant::kPerTensor;
  CountingMeasurer pt;
  const auto r_pt = build_latency_table(store, test_fingerprint(), space, pt,
                                        fake_networks(nullptr, &net_calls), opts);
  EXPECT_EQ(pt.measured, n - 1);
  EXPECT_EQ(r_pt.reused, 1u);
  EXPECT_TRUE(r_pt.calibrated);
  EXPECT_EQ(net_calls, 2);
  const auto table = std::make_shared<const LatencyTable>(
      load_latency_table(store, store.upsert_fingerprint(test_fingerprint())));
  EXPECT_EQ(table->size(), 2 * (2 * n - 1));
  EXPECT_EQ(table->correction(Precision::kInt8).networks, 3);
  EXPECT_EQ(table->correction(Precision::kInt8, WeightQuant::kPerTensor).networks, 3);
  EXPECT_DOUBLE_EQ(table->correction(Precision::kInt8).scale, r_pc.int8.scale);
  const NetSpec net = sample(space, 3);
  const TableLatencyModel per_channel(table, Precision::kInt8, false);
  const TableLatencyModel per_tensor(table, Precision::kInt8, false, WeightQuant::kPerTensor);
  double expected = 0.0;
  for (const auto& key : net_lut_keys(resolve(net), WeightQuant::kPerTensor))
    expected += fake_ms(key);
  EXPECT_DOUBLE_EQ(per_tensor.sum_ms(net), expected);
  EXPECT_NE(per_tensor.sum_ms(net), per_channel.sum_ms(net));
  EXPECT_TRUE(per_tensor.missing_keys(net).empty());
}

TEST(LatencyTable, InterruptedBuildKeepsFinishedChunks) {
  TempDir dir;
  Store store(dir.file("db.sqlite"));
  const SearchSpace space = tiny_space();
  const size_t n = lut_items(space).size();
  LutBuildOptions opts;
  opts.chunk = 4;
  CountingMeasurer broken;
  broken.fail_on = 2;
  EXPECT_THROW(build_latency_table(store, test_fingerprint(), space, broken, {}, opts),
               std::runtime_error);
  CountingMeasurer rest;
  const auto r = build_latency_table(store, test_fingerprint(), space, rest, {}, opts);
  EXPECT_EQ(r.reused, 4u);
  EXPECT_EQ(rest.measured, n - 4);
}

TEST(LatencyModel, SumsStemBlocksHeadAndIo) {
  const SearchSpace space = tiny_space();
  const NetSpec net = sample(space, 3);
  const ResolvedNet r = resolve(net);
  auto table = std::make_shared<LatencyTable>();
  double expected = 0.0;
  double v = 0.5;
  for (const auto& key : net_lut_keys(r)) {
    table->set(key, Precision::kInt8, v);
    table->set(key, Precision::kFP32, 10 * v);
    expected += v;
    v += 0.25;
  }
  const TableLatencyModel m8(table, Precision::kInt8);
  const TableLatencyModel m32(table, Precision::kFP32);
  EXPECT_EQ(m8.precision(), Precision::kInt8);
  EXPECT_NEAR(m8.predict_ms(net), expected, 1e-12);  // no correction: the raw sum
  EXPECT_NEAR(m32.predict_ms(net), 10 * expected, 1e-9);
  table->set_correction(Precision::kInt8, {2.0, 0.5, 1.0, 4});
  const double blocks = static_cast<double>(net.num_blocks());
  EXPECT_NEAR(m8.predict_ms(net), 2.0 * expected + 0.5 * blocks + 1.0, 1e-12);
  EXPECT_NEAR(m8.sum_ms(net), expected, 1e-12);
  EXPECT_NEAR(TableLatencyModel(table, Precision::kInt8, false).predict_ms(net), expected, 1e-12);
  EXPECT_TRUE(m8.missing_keys(net).empty());

  auto partial = std::make_shared<LatencyTable>();
  partial->set(stem_lut_key(r.stem), Precision::kInt8, 1.0);
  const TableLatencyModel mp(partial, Precision::kInt8);
  EXPECT_EQ(mp.missing_keys(net).size(), r.blocks.size() + 2);
  try {
    mp.predict_ms(net);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(block_lut_key(r.blocks[0])), std::string::npos)
        << e.what();
  }
}

TEST(LatencyModel, FitsTheCorrectionOnSyntheticData) {
  // measured = 1.1 * sum + 0.05 * blocks + 0.2, exactly.
  std::vector<CalibrationPoint> pts;
  for (int i = 0; i < 8; ++i) {
    const double s = 1.0 + 0.7 * i;
    const int64_t b = 5 + (i * 3) % 7;
    pts.push_back({s, b, 1.1 * s + 0.05 * b + 0.2});
  }
  const LinearCorrection exact = fit_correction(pts, 0.0);
  EXPECT_NEAR(exact.scale, 1.1, 1e-9);
  EXPECT_NEAR(exact.per_block_ms, 0.05, 1e-9);
  EXPECT_NEAR(exact.offset_ms, 0.2, 1e-9);
  EXPECT_EQ(exact.networks, 8);
  for (const auto& p : pts) EXPECT_NEAR(exact.apply(p.sum_ms, p.blocks), p.measured_ms, 1e-9);

  // The ridge keeps the fit close and defined with a single network.
  const LinearCorrection ridge = fit_correction(pts, 0.01);
  for (const auto& p : pts) EXPECT_NEAR(ridge.apply(p.sum_ms, p.blocks) / p.measured_ms, 1.0, 0.02);
  const LinearCorrection one = fit_correction({{2.0, 4, 3.0}}, 0.01);
  EXPECT_NEAR(one.apply(2.0, 4), 3.0, 0.1);
  EXPECT_THROW(fit_correction({}), std::invalid_argument);
  EXPECT_THROW(fit_correction({{1.0, 1, 0.0}}), std::invalid_argument);
}

TEST(LatencyModel, ErrorStatistics) {
  // Relative errors: +5%, -20%, +10%, 0%.
  const ErrorStats s = error_stats({1.05, 0.8, 2.2, 3.0}, {1.0, 1.0, 2.0, 3.0});
  EXPECT_EQ(s.networks, 4u);
  EXPECT_NEAR(s.mdape_pct, 7.5, 1e-9);
  EXPECT_NEAR(s.within_pct, 75.0, 1e-9);
  EXPECT_NEAR(s.mean_signed_pct, -1.25, 1e-9);
  EXPECT_THROW(error_stats({1.0}, {}), std::invalid_argument);
}

TEST(Timing, MedianAndInterquartileRange) {
  const Timing t = summarize({5.0, 1.0, 3.0, 2.0, 4.0});
  EXPECT_DOUBLE_EQ(t.median_ms, 3.0);
  EXPECT_DOUBLE_EQ(t.spread_ms, 2.0);  // 4 - 2
  EXPECT_EQ(t.samples, 5);
  EXPECT_THROW(summarize({}), std::invalid_argument);
  // Every function is called warm-up + rounds * repeats times, interleaved.
  std::vector<int> calls(3, 0);
  std::vector<std::function<void()>> fns;
  for (int i = 0; i < 3; ++i) fns.push_back([&calls, i] { ++calls[i]; });
  TimingOptions o;
  o.warmup = 2;
  o.rounds = 4;
  o.min_sample_ms = 0.0;
  const auto r = time_interleaved(fns, o);
  ASSERT_EQ(r.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(calls[i], 6);
    EXPECT_EQ(r[i].samples, 4);
  }
}

TEST(Timing, ThreadEnvironment) {
  const auto one = thread_env(1, QuantEngine::kQNNPACK);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], std::make_pair(std::string("OPENBLAS_NUM_THREADS"), std::string("1")));
  const auto two = thread_env(2, QuantEngine::kQNNPACK);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1], std::make_pair(std::string("GOMP_SPINCOUNT"), std::string("10000")));
  EXPECT_EQ(thread_env(2, QuantEngine::kOneDNN).size(), 1u);
  const Fingerprint fp = machine_fingerprint(QuantEngine::kOneDNN, 3);
  EXPECT_EQ(fp.engine, "onednn");
  EXPECT_EQ(fp.threads, 3);
  EXPECT_EQ(fp.torch_version, "1.13.0");
  EXPECT_GE(fp.cores, 1);
  EXPECT_FALSE(fp.cpu_model.empty());
}

TEST(LatencyTable, CalibrationPointsSumTheTableAndPickThePrecision) {
  // Every key of the tiny space's skeleton priced at fake_ms (int8) / 2 x (fp32): the
  // points carry the hand-summed table, the block count and the measured median.
  const SearchSpace space = tiny_space();
  LatencyTable t;
  for (const auto& item : lut_items(space)) {
    t.set(item.key, Precision::kInt8, fake_ms(item.key));
    t.set(item.key, Precision::kFP32, 2 * fake_ms(item.key));
  }
  const std::vector<NetSpec> nets = calibration_networks(space, 2, 7);
  const std::vector<NetTiming> measured{{{0.5, 0.0, 3}, {0.9, 0.0, 3}},
                                        {{0.7, 0.0, 3}, {1.3, 0.0, 3}}};
  const auto p8 = calibration_points(t, Precision::kInt8, nets, measured);
  const auto p32 = calibration_points(t, Precision::kFP32, nets, measured);
  ASSERT_EQ(p8.size(), 2u);
  for (size_t i = 0; i < nets.size(); ++i) {
    double s = 0.0;
    for (const auto& key : net_lut_keys(resolve(nets[i]))) s += fake_ms(key);
    EXPECT_DOUBLE_EQ(p8[i].sum_ms, s);
    EXPECT_DOUBLE_EQ(p32[i].sum_ms, 2 * s);
    EXPECT_EQ(p8[i].blocks, static_cast<int64_t>(nets[i].num_blocks()));
  }
  EXPECT_DOUBLE_EQ(p8[1].measured_ms, 0.7);
  EXPECT_DOUBLE_EQ(p32[1].measured_ms, 1.3);
  EXPECT_THROW(calibration_points(t, Precision::kInt8, nets, {measured[0]}), std::invalid_argument);
  LatencyTable empty;
  EXPECT_THROW(calibration_points(empty, Precision::kInt8, nets, measured), InputError);
}

}  // namespace
}  // namespace frostnas
