#include <gtest/gtest.h>

#include "experiments/pipeline/cell_stage.h"

namespace frostnas {
namespace {

TEST(PipelineCellStage, LogsAnUndecidedCellAsNotAFinding) {
  ArchWeights w;
  w.nodes = 1;
  w.ops = {{"skip", "se", "conv_1x1"}};
  w.weights = {{0.34, 0.33, 0.33}};
  PipelineCellResult cell;
  cell.experiment_id = 4;
  cell.genotype.nodes = {{{0, "skip"}}};
  cell.evidence = assess_derivation(w, cell.genotype, 0.05);
  const auto lines = cell_stage_log_lines(cell);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "stage cell_search: experiment 4, genotype concat|1:0.skip");
  EXPECT_EQ(lines[1],
            "stage cell_search: UNDECIDED: 1 of 1 derived edges are within the seed-to-seed "
            "spread (margin < 0.050: 0->1 skip +0.010); this genotype is not a finding: run more "
            "seeds or a longer search");

  cell.evidence = assess_derivation(w, cell.genotype, 0.005);
  EXPECT_EQ(cell_stage_log_lines(cell)[1],
            "stage cell_search: decided: every derived edge clears the margin (>= 0.005 over the "
            "runner-up op)");
}

}  // namespace
}  // namespace frostnas
