#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>

#include "space/error.h"
#include "trainer/progress_bar.h"
#include "trainer/train/train_config.h"

using namespace frostnas;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

}  // namespace

TEST(TrainConfig, BadValuesNameTheOptionAndTheAllowedValues) {
  EXPECT_EQ(error_of([] { parse_qat_scheme("fancy", "--qat"); }),
            "--qat: unknown value 'fancy' (allowed: statassist, plain, none)");
  auto with = [](const std::function<void(TrainConfig&)>& edit) {
    return error_of([&] {
      TrainConfig c;
      edit(c);
      validate(c);
    });
  };
  EXPECT_EQ(with([](TrainConfig& c) { c.batch_size = 0; }),
            "--batch-size: 0 is out of range (allowed: 1..65536)");
  EXPECT_EQ(with([](TrainConfig& c) { c.optimizer.lr = -1; }),
            "--lr: -1 is out of range (allowed: a positive number)");
  EXPECT_EQ(with([](TrainConfig& c) {
              c.optimizer.name = "lion";
            }).rfind("--optimizer: unknown value 'lion' (allowed: qsgd, ", 0),
            0u);
  EXPECT_EQ(with([](TrainConfig& c) {
              c.schedule = "linear";
            }).rfind("--schedule: unknown value 'linear' (allowed: ", 0),
            0u);
  EXPECT_EQ(with([](TrainConfig& c) { c.fp_warmup_epochs = 3; }),
            "--fp-warmup-epochs: 3 is out of range (allowed: 0..--epochs)");
  EXPECT_EQ(with([](TrainConfig& c) { c.time_budget_s = -5; }),
            "--time-budget: -5 is out of range (allowed: 0 (none) or a positive number of "
            "seconds)");
  EXPECT_EQ(with([](TrainConfig& c) { c.freeze_bn_epoch = -2; }),
            "--freeze-bn-epoch: -2 is out of range (allowed: -1 (never) or an epoch >= 0)");
  EXPECT_EQ(with([](TrainConfig&) {}), "(no InputError)");
}

TEST(TrainConfig, JsonRoundTrip) {
  TrainConfig c;
  c.epochs = 7;
  c.qat = QatScheme::kPlain;
  c.optimizer.name = "sgd";
  c.optimizer.lr = 0.1;
  c.transform.pad(2).flip(true).size(32).channels(3);
  c.seed = 42;
  c.freeze_bn_epoch = 5;
  c.engine = QuantEngine::kOneDNN;
  const TrainConfig back = train_config_from_json(to_json(c), "x.json");
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.qat, QatScheme::kPlain);
  EXPECT_EQ(back.transform.size(), 32);
  EXPECT_EQ(error_of([] {
              train_config_from_json({{"qat", "x"}}, "r.json");
            }),
            "r.json: qat: unknown value 'x' (allowed: statassist, plain, none)");
}

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
