// `frostnas study`: the --json analysis of a tiny study, the table of a resumed (finished)
// study, and one-line refusals of bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "tests/common/cli_runner.h"
#include "tests/common/temp_dir.h"
#include "tests/search/study/tiny_study.h"

using frostnas::testing::CliResult;
using frostnas::testing::expect_input_error;
using frostnas::testing::run_frostnas;
using frostnas::testing::TempDir;

TEST(StudyCli, JsonHasTheSummariesAndTheComparisonThenResumePrintsTheTable) {
  TempDir dir;
  const std::string config = dir.write("study.json", frostnas::testing::tiny_study_json().dump());
  const std::string db = dir.file("db.sqlite");
  const CliResult r =
      run_frostnas("study --config " + config + " --db " + db + " --threads 1 --quiet --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("name"), "tiny");
  EXPECT_EQ(j.at("metrics"), nlohmann::json::array({"fp32_acc"}));
  EXPECT_EQ(j.at("runs_done"), 4);
  ASSERT_EQ(j.at("per_metric")[0].at("variants").size(), 2u);
  for (const auto& v : j.at("per_metric")[0].at("variants")) {
    EXPECT_EQ(v.at("n"), 2);
    EXPECT_TRUE(v.at("mean").is_number());
    EXPECT_TRUE(v.at("sd").is_number());
    EXPECT_EQ(v.at("values").size(), 2u);
  }
  ASSERT_EQ(j.at("comparisons").size(), 1u);
  const nlohmann::json& c = j.at("comparisons")[0];
  EXPECT_EQ(c.at("a"), "low");
  EXPECT_EQ(c.at("b"), "high");
  for (const char* key :
       {"mean_diff", "ci_low", "ci_high", "t_p", "sign_flip_p", "t_p_holm", "sign_flip_p_holm"})
    EXPECT_TRUE(c.at(key).is_number()) << key;
  EXPECT_TRUE(c.at("verdict").is_string());
  EXPECT_LE(c.at("ci_low").get<double>(), c.at("mean_diff").get<double>());
  // The per-run lines went to stderr.
  EXPECT_NE(r.err.find("[4/4] high seed 1: fp32_acc"), std::string::npos) << r.err;

  // Resuming a finished study trains nothing and prints the same analysis as a table.
  const CliResult again = run_frostnas("study --resume " + j.at("experiment_id").dump() + " --db " +
                                       db + " --threads 1 --quiet");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("mean ± sd"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("high - low"), std::string::npos) << again.out;
  EXPECT_NE(again.err.find("(recorded earlier)"), std::string::npos) << again.err;

  // The report of a study experiment is its study page.
  const std::string html = dir.file("study.html");
  const CliResult report = run_frostnas("report --experiment " + j.at("experiment_id").dump() +
                                        " --db " + db + " --out " + html);
  ASSERT_EQ(report.status, 0) << report.err;
  EXPECT_NE(report.out.find("study page of experiment"), std::string::npos) << report.out;
  std::ifstream in(html);
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<section id=\"study\">"), std::string::npos);
  EXPECT_NE(page.find("data-series=\"seed 1: high - low = "), std::string::npos);
}

TEST(StudyCli, BadInputIsOneLineWithExitTwo) {
  TempDir dir;
  nlohmann::json bad = frostnas::testing::tiny_study_json();
  bad["comparisons"][0]["a"] = "nope";
  const std::string config = dir.write("bad.json", bad.dump());
  const std::string db = dir.file("db.sqlite");
  expect_input_error(run_frostnas("study --config " + config + " --db " + db),
                     "bad.json: $.comparisons[0].a: \"nope\" is not allowed (allowed: low, high)");
  EXPECT_FALSE(std::filesystem::exists(db));  // refused before the database was created
  expect_input_error(run_frostnas("study --db " + db), "give --config FILE");
  expect_input_error(run_frostnas("study --resume 99 --db " + db), "experiment 99 does not exist");
}
