#include <filesystem>

#include <gtest/gtest.h>

#include "tests/common/cli_runner.h"
#include "tests/search/report/report_fixture.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;
using frostnas::testing::expect_input_error;
using frostnas::testing::make_report_db;
using frostnas::testing::run_frostnas;

namespace {

/// Files of a directory other than the database's own.
std::vector<std::string> outputs(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("db.sqlite", 0) != 0) out.push_back(name);
  }
  return out;
}

}  // namespace

TEST(ReportCli, WritesHtmlAndMarkdown) {
  TempDir dir;
  const auto ids = make_report_db(dir.file("db.sqlite"));
  const auto r = run_frostnas("report --db " + dir.file("db.sqlite") + " --experiment " +
                              std::to_string(ids.search_id) + " --baselines " +
                              std::to_string(ids.baseline_id) + " --out " + dir.file("r.html") +
                              " --markdown " + dir.file("r.md"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("5 candidates, 2 baselines, 4 of 6 plotted models on the Pareto front"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("warning:"), std::string::npos);  // the malformed weights
  const std::string html = read_bytes(dir.file("r.html"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_NE(read_bytes(dir.file("r.md")).find("## Pareto front"), std::string::npos);
  auto files = outputs(dir.file(""));
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"r.html", "r.md"}));  // no temporary files left
}

// Each run loads LibTorch (seconds on a busy machine): flag parsing and unknown
// baselines are covered by the ReportData tests instead.
TEST(ReportCli, BadInputIsOneLineAndLeavesNoFile) {
  TempDir dir;
  const auto ids = make_report_db(dir.file("db.sqlite"));
  const std::string db = " --db " + dir.file("db.sqlite");
  const std::string out = " --out " + dir.file("r.html");
  expect_input_error(run_frostnas("report --experiment 99" + db + out), "--experiment: 99");
  expect_input_error(run_frostnas("report --experiment 1 --db " + dir.file("none.sqlite") + out),
                     "--db: " + dir.file("none.sqlite") + ": no such database");
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.sqlite")));
  expect_input_error(
      run_frostnas("report --experiment 1" + db + " --out " + dir.file("missing/r.html")),
      "--out: " + dir.file("missing/r.html") + ": cannot write file");
  // The HTML could be written but the Markdown cannot: neither is left behind.
  expect_input_error(run_frostnas("report --experiment " + std::to_string(ids.search_id) + db +
                                  out + " --markdown " + dir.file("missing/r.md")),
                     "--markdown: " + dir.file("missing/r.md") + ": cannot write file");
  EXPECT_TRUE(outputs(dir.file("")).empty());
}
