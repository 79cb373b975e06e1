#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "cli/progress_bar.h"

using namespace frostnas;

TEST(ProgressBar, RendersCountsRateEtaAndFields) {
  std::ostringstream out;
  ProgressBarOptions o;
  o.out = &out;
  o.width = 10;
  o.unit = "img";
  o.tty = 0;
  ProgressBar bar("train", 1024, o);
  EXPECT_EQ(bar.render(512, 2.0, {{"loss", "0.5"}}),
            "train [=====>    ] 512/1024  50% 256 img/s ETA 0:02 loss=0.5");
  EXPECT_EQ(bar.render(1024, 4.0, {}), "train [==========] 1024/1024 100% 256 img/s in 0:04");
  EXPECT_EQ(ProgressBar::format_duration(3725), "1:02:05");
  EXPECT_EQ(ProgressBar::format_duration(-1), "--:--");
  EXPECT_EQ(ProgressBar::format_rate(12345), "12.3k");
  EXPECT_EQ(ProgressBar::format_rate(3.14159), "3.14");
}

TEST(ProgressBar, PlainModePrintsLinesTtyModeRewritesOne) {
  {
    std::ostringstream out;
    ProgressBarOptions o;
    o.out = &out;
    o.tty = 0;
    o.interval_s = 0;
    ProgressBar bar("e", 3, o);
    bar.update(1);
    bar.update(2);
    bar.finish({{"acc", "90%"}});
    bar.update(3);  // ignored after finish
    const std::string s = out.str();
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 3);
    EXPECT_EQ(s.find('\r'), std::string::npos);
    EXPECT_NE(s.find("2/3"), std::string::npos);
    EXPECT_NE(s.find("acc=90%"), std::string::npos);
  }
  {
    std::ostringstream out;
    ProgressBarOptions o;
    o.out = &out;
    o.tty = 1;
    o.tty_interval_s = 0;
    ProgressBar bar("e", 3, o);
    bar.update(1);
    bar.update(2);
    bar.finish();
    const std::string s = out.str();
    EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 3);
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1);
  }
  {
    // Quiet forces plain lines, rate-limited by interval_s.
    std::ostringstream out;
    ProgressBarOptions o;
    o.out = &out;
    o.tty = 1;
    o.quiet = true;
    o.interval_s = 1000;
    ProgressBar bar("e", 100, o);
    for (int i = 1; i <= 100; ++i) bar.update(i);
    bar.finish();
    const std::string s = out.str();
    EXPECT_FALSE(bar.tty());
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 2);  // the first update and the end
  }
}
