#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/atomic_write.h"
#include "common/error.h"
#include "export/onnx_export.h"
#include "tests/export/export_fixtures.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

namespace fs = std::filesystem;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(OnnxExport, QdqModelPassesTheCheckerWithEveryOpMapped) {
  QatNet qat = trained_export_net(QuantEngine::kOneDNN, 80);
  const Int8Net net = convert_to_int8(*qat);
  const OnnxModelSummary s = check_onnx_model(int8_onnx_bytes(net, export_input_info()));
  EXPECT_EQ(s.opset, kOnnxOpset);
  EXPECT_EQ(s.output_shape, (std::vector<std::string>{"N", "10"}));
  EXPECT_TRUE(s.qdq_errors.empty()) << s.qdq_errors.front();
  for (const char* op :
       {"QuantizeLinear", "DequantizeLinear", "Conv", "Relu", "Concat", "Add", "Mul", "Sigmoid",
        "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten"})
    EXPECT_TRUE(has(s.op_types, op)) << op;
  EXPECT_GT(s.nodes, 200);
}

TEST(OnnxExport, WeightsAreDequantizedPerChannelOrPerTensorAsTheModel) {
  for (const WeightQuant weights : {WeightQuant::kPerChannel, WeightQuant::kPerTensor}) {
    QatNet qat = trained_export_net(QuantEngine::kOneDNN, 82, weights);
    const Int8Net net = convert_to_int8(*qat);
    ASSERT_EQ(net.weight_quant(), weights);
    const OnnxModelSummary s = check_onnx_model(int8_onnx_bytes(net, export_input_info()));
    EXPECT_TRUE(s.qdq_errors.empty()) << s.qdq_errors.front();
    EXPECT_EQ(s.output_shape, (std::vector<std::string>{"N", "10"}));
    EXPECT_EQ(s.metadata.at("frostnas.weight_quant"), to_string(weights));
    const int64_t all = s.per_channel_weights + s.per_tensor_weights;
    EXPECT_GT(all, 20);
    EXPECT_EQ(weights == WeightQuant::kPerTensor ? s.per_tensor_weights : s.per_channel_weights,
              all)
        << to_string(weights);
  }
}

TEST(OnnxExport, CheckerRejectsABrokenModel) {
  EXPECT_THROW(check_onnx_model("not a model"), std::runtime_error);
}

TEST(OnnxExport, EveryGenotypeOpHasAMappingOrIsRefusedByName) {
  for (const auto& op : genotype_op_names())
    EXPECT_TRUE(has(exportable_cell_ops(), op)) << op << " has no export mapping";
  try {
    refuse_cell_op("none", ExportFormat::kOnnx);
    FAIL() << "no refusal";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cell op 'none' has no onnx mapping (mapped: skip", 0),
              0u)
        << e.what();
  }
}

TEST(OnnxExport, PythonCheckerFullCheckAndShapeInferencePass) {
  if (std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-onnx is not installed: the Python checker is not run";
  QatNet qat = trained_export_net(QuantEngine::kOneDNN, 81);
  const std::string dir = export_temp_dir("py_onnx");
  const std::string path = (fs::path(dir) / "model.onnx").string();
  atomic_write(path, int8_onnx_bytes(convert_to_int8(*qat), export_input_info()));
  const std::string script =
      "import sys, onnx\n"
      "m = onnx.load(sys.argv[1])\n"
      "onnx.checker.check_model(m, full_check=True)\n"
      "i = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)\n"
      "w = [t for t in m.graph.initializer if t.name.endswith('_weight_quantized')]\n"
      "assert w and all(t.data_type == onnx.TensorProto.INT8 for t in w)\n"
      "assert {o.version for o in m.opset_import} == {13}\n"
      "assert len(i.graph.value_info) > 100\n";
  EXPECT_EQ(std::system(("/usr/bin/python3 -c \"" + script + "\" " + path).c_str()), 0);
  fs::remove_all(dir);
}
