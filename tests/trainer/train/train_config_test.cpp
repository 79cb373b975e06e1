#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>

#include "common/error.h"
#include "tests/common/input_error.h"
#include "trainer/train/train_config.h"

using namespace frostnas;

using frostnas::testing::input_error;

TEST(TrainConfig, BadValuesNameTheOptionAndTheAllowedValues) {
  EXPECT_EQ(input_error([] { parse_qat_scheme("fancy", "--qat"); }),
            "--qat: unknown value 'fancy' (allowed: statassist, plain, none)");
  auto with = [](const std::function<void(TrainConfig&)>& edit) {
    return input_error([&] {
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
  EXPECT_EQ(with([](TrainConfig&) {}), "");
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
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"qat", "x"}}, "r.json");
            }),
            "r.json: $.qat: unknown value 'x' (allowed: statassist, plain, none)");
}

TEST(TrainConfig, WeightQuantIsStoredOnlyWhenPerTensorAndRefusesOtherValues) {
  TrainConfig c;
  EXPECT_EQ(c.weight_quant, WeightQuant::kPerChannel);
  EXPECT_FALSE(to_json(c).contains("weight_quant"));
  // Stored configurations without the field read as per channel.
  EXPECT_EQ(train_config_from_json(to_json(c), "old.json").weight_quant, WeightQuant::kPerChannel);
  EXPECT_EQ(train_config_from_json({{"weight_quant", "per_channel"}}, "r.json").weight_quant,
            WeightQuant::kPerChannel);
  c.weight_quant = WeightQuant::kPerTensor;
  EXPECT_EQ(to_json(c).at("weight_quant"), "per_tensor");
  const TrainConfig back = train_config_from_json(to_json(c), "x.json");
  EXPECT_EQ(back.weight_quant, WeightQuant::kPerTensor);
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"weight_quant", "per_layer"}}, "r.json");
            }),
            "r.json: $.weight_quant: \"per_layer\" is not allowed (allowed: per_channel, "
            "per_tensor)");
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"weight_quant", 1}}, "r.json");
            }).rfind("r.json: $.weight_quant: expected a string", 0),
            0u);
}

TEST(TrainConfig, JsonRefusesUnknownKeysAndWrongTypesAtEveryDepth) {
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"epochz", 2}}, "r.json");
            }).rfind("r.json: $.epochz: unknown field (allowed fields: epochs, batch_size, ", 0),
            0u);
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"optimizer", {{"lrr", 0.1}}}}, "r.json");
            }).rfind("r.json: $.optimizer.lrr: unknown field (allowed fields: name, lr, ", 0),
            0u);
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"transform", {{"crop", 2}}}}, "r.json");
            }),
            "r.json: $.transform.crop: unknown field (allowed fields: pad, flip, crop_scale, "
            "normalize, size, channels)");
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"epochs", "two"}}, "r.json");
            }),
            "r.json: $.epochs: expected an integer, got a string");
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"seed", -1}}, "r.json");
            }),
            "r.json: $.seed: -1 is out of range (allowed: >= 0)");
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"channels_last", 1}}, "r.json");
            }),
            "r.json: $.channels_last: expected true or false, got an integer");
  EXPECT_EQ(input_error([] {
              train_config_from_json({{"device", "tpu"}}, "r.json");
            }),
            "r.json: $.device: unknown device 'tpu' (allowed: cpu, cuda, cuda:N)");
}

TEST(TrainConfig, RangeErrorsNameTheJsonPathForFileValues) {
  TrainConfig c;
  c.batch_size = 0;
  EXPECT_EQ(input_error([&] { validate(c, "s.json: $.train"); }),
            "s.json: $.train.batch_size: 0 is out of range (allowed: 1..65536)");
  c.batch_size = 8;
  c.fp_warmup_epochs = 3;
  EXPECT_EQ(input_error([&] { validate(c, "s.json: $.train"); }),
            "s.json: $.train.fp_warmup_epochs: 3 is out of range (allowed: 0..s.json: "
            "$.train.epochs)");
}
