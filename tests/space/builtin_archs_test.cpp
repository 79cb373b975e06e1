#include <gtest/gtest.h>

#include "space/builtin_archs.h"
#include "space/frost_net.h"
#include "space/resolved_net.h"

using namespace frostnas;

TEST(BuiltinArchs, ReferenceParameterCounts) {
  EXPECT_EQ(resolve(builtin_arch("frostnet-small-1.0")).params(), 4858776);
  EXPECT_EQ(resolve(builtin_arch("frostnet-large-1.0")).params(), 5807056);
}
