#!/bin/bash
# The deployment exports of one trained model against frostnas, in one go:
#   1. export-model: INT8 TorchScript and QDQ ONNX (the ONNX checker runs inside);
#   2. bench/export_check (C++): TorchScript via torch::jit::load bit-exact against
#      Int8Net on --count test images, C++ batch-1 latency of both; dumps the test set;
#   3. bench/python/export_torchscript.py: the same in Python (torch.jit.load), and its
#      batch-1 latency against `frostnas eval`;
#   4. bench/onnx/onnx_runtime_check.mjs: onnxruntime-node on the whole test set (top-1
#      agreement, largest logit difference in quantization steps) and its single-thread
#      batch-1 latency against `frostnas eval --threads 1`.
# Steps 3 and 4 are skipped with a message when python3-torch / onnxruntime-node is absent.
#
#   ninja -C build frostnas export_check
#   ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix bench/onnx     # once, for step 4
#   OMP_WAIT_POLICY=PASSIVE bench/export_check.sh RUN [OUT_DIR]       # RUN: a trained model dir
set -euo pipefail
model=${1:?usage: bench/export_check.sh MODEL_DIR [OUT_DIR]}
out=${2:-/tmp/frostnas_export_check}
data=${DATA:-fashion-mnist}
mkdir -p "$out"
build/frostnas export-model --model "$model" --format torchscript --out "$out/model_int8.pt"
build/frostnas export-model --model "$model" --format onnx --out "$out/model_int8.onnx"
build/bench/export_check --model "$model" --torchscript "$out/model_int8.pt" --data "$data" \
  --count 1000 --dump "$out" --dump-count 10000 --threads 1
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 bench/python/export_torchscript.py --torchscript "$out/model_int8.pt" --dump "$out" \
    --model "$model" --data "$data" --count 1000 --threads 1
else
  echo "python3-torch not installed: Python TorchScript check skipped"
fi
if [ -d bench/onnx/node_modules/onnxruntime-node ]; then
  node bench/onnx/onnx_runtime_check.mjs --onnx "$out/model_int8.onnx" --dump "$out" \
    --model "$model" --data "$data" --optimized "$out/model_int8.ort.onnx"
  if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    /usr/bin/python3 -c "import collections, onnx, sys
m = onnx.load(sys.argv[1])
print('onnxruntime optimized graph:', dict(collections.Counter(n.op_type for n in m.graph.node)))" \
      "$out/model_int8.ort.onnx"
  fi
else
  echo "onnxruntime-node not installed (npm install --prefix bench/onnx): ONNX check skipped"
fi
