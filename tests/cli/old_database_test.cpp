// A database written by an earlier release opens and its interrupted search resumes. The
// file was made by frostnas 0.1.0 (`search` over the proxy space on synthetic data, 4
// samples, killed after the first candidate; see tests/cli/data/README.md).
#include <gtest/gtest.h>

#include <filesystem>

#include "search/store/store.h"
#include "tests/common/cli_runner.h"
#include "tests/common/temp_dir.h"

namespace frostnas {
namespace {

namespace fs = std::filesystem;
using testing::run_frostnas;
using testing::source_path;

TEST(OldDatabase, OpensAndItsInterruptedSearchResumes) {
  testing::TempDir dir;
  const std::string db = dir.file("old.sqlite");
  fs::copy_file(source_path("tests/cli/data/search_0.1.0_interrupted.sqlite"), db);
  int64_t done_before = 0;
  {
    Store store(db);
    EXPECT_EQ(store.integrity_check(), "ok");
    const ExperimentRecord e = store.get_experiment(1);
    EXPECT_EQ(e.kind, "search");
    EXPECT_EQ(e.program_version, "0.1.0");
    for (const auto& c : store.list_candidates(1))
      done_before += c.status == CandidateStatus::kDone;
  }
  ASSERT_GE(done_before, 1);
  ASSERT_LT(done_before, 4);

  const auto r = run_frostnas("search --db " + db + " --resume 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  Store store(db);
  EXPECT_EQ(store.get_experiment(1).status, ExperimentStatus::kDone);
  const auto candidates = store.list_candidates(1);
  ASSERT_EQ(candidates.size(), 4u);
  for (const auto& c : candidates) EXPECT_EQ(c.status, CandidateStatus::kDone) << c.seq;
}

}  // namespace
}  // namespace frostnas
