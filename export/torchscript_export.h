#pragma once

#include <string>

#include <torch/script.h>

#include "trainer/int8/folded_fp32.h"
#include "trainer/int8/int8_net.h"
#include "trainer/train/train_artifacts.h"

namespace frostnas {

/// Extra files inside an exported TorchScript archive (torch::jit::load's
/// `_extra_files`): the architecture (frostnas.arch/1 JSON), the quantized engine the
/// weights were packed for ("onednn", "qnnpack"; "none" for the float export), the weight
/// scheme ("per_channel", "per_tensor"; "none" for the float export), the input
/// description (input.json: normalisation mean / std, size, channels) and reference
/// inputs with their logits (torch::pickle_save of {"inputs": float [4, C, H, W],
/// "logits": float [4, num_classes]}; Python: torch.load(io.BytesIO(bytes))).
constexpr const char* kScriptArchFile = "arch.json";
constexpr const char* kScriptEngineFile = "engine";
constexpr const char* kScriptWeightQuantFile = "weight_quant";
constexpr const char* kScriptInputFile = "input.json";
constexpr const char* kScriptReferenceFile = "reference.pt";

/// The INT8 network as a scripted module: attributes `<layer>_w` (quantized
/// Conv2dPackedParamsBase), `<layer>_s` / `<layer>_z` (output scale, zero point) and
/// the qparams of every cat / add / mul / pool; `forward` calls torch.ops.quantized.*.
/// Float [N, C, H, W] (normalised) -> float logits [N, num_classes], bit for bit
/// Int8Net::forward under the same quantized engine. Built under the net's engine.
torch::jit::Module int8_script_module(const Int8Net& net);

/// The BN-folded FP32 network as a scripted module (`<layer>_w`, `<layer>_b` tensors).
/// Float [N, C, H, W] -> float logits [N, num_classes], as FoldedNet::forward.
torch::jit::Module float_script_module(const FoldedNet& net);

/// The archive of int8_script_module(net) with the extra files above.
std::string int8_torchscript_bytes(const Int8Net& net, const InputInfo& input);
/// The archive of float_script_module(net) with the extra files above (engine "none").
std::string float_torchscript_bytes(const FoldedNet& net, const InputInfo& input);

}  // namespace frostnas
