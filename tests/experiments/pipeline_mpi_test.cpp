// `mpirun --oversubscribe -np 3 frostnas pipeline`: rank 0 runs the stages, two workers
// train the search's candidates and the final models, whose files come back in the
// messages. Skipped with a message where mpirun is missing or frostnas is built without MPI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "experiments/pipeline/pipeline.h"
#include "search/store/store.h"
#include "tests/common/cli_runner.h"
#include "tests/common/mpi_runner.h"
#include "tests/common/tiny_pipeline.h"

namespace frostnas {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::frostnas_error_lines;
using testing::kMpirun;
using testing::run_shell;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Every file below `dir` (space.json included), by path relative to it.
std::map<std::string, std::string> files_below(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      files[e.path().lexically_relative(dir).generic_string()] = read_bytes(e.path());
  return files;
}

class MpiPipeline : public testing::MpiCommandTest<MpiPipeline> {
 public:
  static constexpr const char* kCommand = "pipeline";
  static nlohmann::json config_json(int64_t seed) {
    nlohmann::json j = testing::tiny_pipeline_config();
    j["seed"] = seed;
    j["search"]["space"] = testing::source_path("experiments/spaces/proxy.json");
    // One MobileNet width: the width is chosen by latencies measured on rank 0, which two
    // runs on a busy machine need not order alike.
    j["baselines"]["mobilenet_widths"] = {0.5};
    return j;
  }

 protected:
  /// The candidates of the experiment of `kind` equal the serial run's, trained by workers.
  static void expect_same_candidates(const Store& serial, const Store& store,
                                     const std::string& kind) {
    const auto a = serial.list_candidates(serial.list_experiments(kind).at(0).id);
    const auto b = store.list_candidates(store.list_experiments(kind).at(0).id);
    ASSERT_EQ(a.size(), b.size()) << kind;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].arch_hash, b[i].arch_hash) << kind << " " << i;
      EXPECT_EQ(a[i].status, b[i].status) << kind << " " << i;
      EXPECT_EQ(a[i].int8_acc, b[i].int8_acc) << kind << " " << i;
      EXPECT_EQ(a[i].qat_acc, b[i].qat_acc) << kind << " " << i;
      EXPECT_EQ(a[i].fp32_acc, b[i].fp32_acc) << kind << " " << i;
      EXPECT_TRUE(b[i].worker && *b[i].worker >= 1 && *b[i].worker <= 2) << kind << " " << i;
    }
  }

  /// The pipeline of `path` recorded what the serial one did: the search's candidates, the
  /// final models' accuracies, and byte for byte the same saved model files.
  static void expect_serial_record(const std::string& path) {
    ASSERT_EQ(serial().status, 0) << serial().err;
    Store reference(db("serial"));
    Store store(path);
    EXPECT_EQ(store.integrity_check(), "ok");
    EXPECT_EQ(store.get_experiment(1).status, ExperimentStatus::kDone);
    expect_same_candidates(reference, store, "search");
    expect_same_candidates(reference, store, kPipelineFinalKind);
    const auto a = files_below(fs::path(db("serial") + ".d") / "pipeline" / "1");
    const auto b = files_below(fs::path(path + ".d") / "pipeline" / "1");
    ASSERT_EQ(a.size(), b.size());
    EXPECT_GE(a.size(), 3u * 7u);  // three models of at least seven files each
    for (const auto& [file, bytes] : a) {
      ASSERT_TRUE(b.count(file)) << file;
      EXPECT_TRUE(b.at(file) == bytes) << file << " differs from the serial run's";
    }
  }
};

TEST_F(MpiPipeline, TwoWorkersRecordTheSerialFinalModels) {
  // The MPI launcher is detected: no --workers needed.
  const CliResult r = mpirun("", 3, "--config " + config("tiny.json") + " --db " + db("mpi"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("on worker "), std::string::npos) << r.err;
  expect_serial_record(db("mpi"));
}

TEST_F(MpiPipeline, KilledWorkerLeavesAResumablePipeline) {
  // The search has two candidates (sequence 1, 2): the third final model is the second
  // baseline's, which kills its worker.
  const std::string path = db("killed");
  const CliResult killed =
      mpirun("FROSTNAS_TEST_KILL_AT_SEQ=3", 3, "--config " + config("tiny.json") + " --db " + path);
  EXPECT_NE(killed.status, 0) << killed.err;
  {
    Store store(path);
    EXPECT_EQ(store.integrity_check(), "ok");
    const int64_t final_id = store.list_experiments(kPipelineFinalKind).at(0).id;
    const CandidateRecord c = store.list_candidates(final_id).at(2);
    EXPECT_EQ(c.status, CandidateStatus::kRunning);
    EXPECT_EQ(c.attempts, 1);
  }
  const CliResult resumed = mpirun("", 3, "--db " + path + " --resume 1");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("final model(s) left running by a crash re-queued"), std::string::npos)
      << resumed.err;
  expect_serial_record(path);
}

TEST_F(MpiPipeline, BadInputStopsBeforeTheDatabaseIsCreated) {
  CliResult r = testing::run_frostnas("pipeline --workers some --config " + config("tiny.json") +
                                      " --db " + db("bad"));
  testing::expect_input_error(r, "--workers: \"some\" is not allowed");

  // No worker: a job of one process.
  r = mpirun("", 1, "--workers mpi --config " + config("tiny.json") + " --db " + db("none"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(frostnas_error_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no worker"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db("none")));

  // Rank 2 was given another configuration.
  r = run_shell(kMpirun + " -np 2 " + FROSTNAS_BINARY + " pipeline --quiet --config " +
                config("tiny.json") + " --db " + db("differ") + " : -np 1 " + FROSTNAS_BINARY +
                " pipeline --quiet --config " + config("other.json") + " --db " + db("differ"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(frostnas_error_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("worker 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("configuration hash"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db("differ")));
  EXPECT_FALSE(fs::exists(db("bad")));
}

}  // namespace
}  // namespace frostnas
