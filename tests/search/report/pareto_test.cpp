#include <gtest/gtest.h>

#include <vector>

#include "search/report/pareto.h"

using namespace frostnas;

TEST(Pareto, FrontOfHandMadePoints) {
  const std::vector<ParetoPoint> p{{90, 10}, {85, 5},  {91, 20}, {84, 6},
                                   {90, 12}, {95, 30}, {85, 5}};
  EXPECT_EQ(pareto_front(p), (std::vector<size_t>{1, 0, 2, 5}));
  EXPECT_TRUE(pareto_front({}).empty());
}
