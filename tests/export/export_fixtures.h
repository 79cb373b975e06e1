#pragma once

#include <filesystem>
#include <string>

#include <unistd.h>

#include "export/model_export.h"
#include "space/genotype.h"
#include "tests/common/cell_fixtures.h"
#include "tests/trainer/int8/int8_test_util.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas::testing {

/// 16x16x1, every block kind: depthwise (residual), a concat cell with every op and an
/// entry projection (residual), an MBConv fallback (stride 2), a sum cell with every op
/// (residual), a Frost block (residual); head 32, 10 classes.
inline NetSpec export_net_spec() {
  NetSpec s;
  s.name = "export-net";
  s.in_channels = 1;
  s.input_size = 16;
  s.num_classes = 10;
  s.stem = StemSpec{16, 3, 1};
  s.stages = {StageSpec{{BlockSpec{BlockType::kFrost, 3, 16, 1, 1, 1},
                         cell_spec(all_ops_genotype(CellJoin::kConcat), 3, 16, 3, 2, 1)}},
              StageSpec{{BlockSpec{BlockType::kFrost, 5, 24, 3, 4, 2},
                         cell_spec(all_ops_genotype(CellJoin::kSum), 3, 24, 2, 4, 1),
                         BlockSpec{BlockType::kFrost, 3, 24, 3, 2, 1}}}};
  s.head = HeadSpec{32};
  s.dropout = 0.0;
  return s;
}

/// export_net_spec() QAT-trained a few seeded steps on random data, observers and BN frozen.
inline QatNet trained_export_net(QuantEngine engine, uint64_t seed,
                                 WeightQuant weights = WeightQuant::kPerChannel) {
  return briefly_trained_qat_net(export_net_spec(), engine, seed, weights);
}

inline InputInfo export_input_info() {
  InputInfo input;
  input.dataset = "synthetic";
  input.mean = {0.25f};
  input.std = {0.5f};
  return input;
}

/// A fresh temporary directory named after `tag` and the process.
inline std::string export_temp_dir(const std::string& tag) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("frostnas_export_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// Writes a training output directory (int8/, input.json, qat_checkpoint.pt, arch.json)
/// of `net` into `dir`.
inline void write_model_dir(QatNetImpl& net, const std::string& dir) {
  namespace fs = std::filesystem;
  save_int8_model(convert_to_int8(net), (fs::path(dir) / kInt8Dir).string());
  save_qat_checkpoint(net, (fs::path(dir) / kQatCheckpointFile).string());
  save_net_spec(net.spec(), (fs::path(dir) / kArchFile).string());
  save_json_file(to_json(export_input_info()), (fs::path(dir) / kInputFile).string());
}

}  // namespace frostnas::testing
