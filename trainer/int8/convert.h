#pragma once

#include "space/conv_bn_act.h"
#include "space/float_cell.h"
#include "space/frost_block.h"
#include "space/frost_net.h"
#include "trainer/int8/folded_fp32.h"
#include "trainer/int8/int8_block.h"
#include "trainer/int8/int8_cell.h"
#include "trainer/int8/int8_conv.h"
#include "trainer/int8/int8_net.h"
#include "trainer/quant/cell_ops.h"
#include "trainer/quant/qat_block.h"
#include "trainer/quant/qat_cell.h"
#include "trainer/quant/qat_conv_bn_act.h"
#include "trainer/quant/qat_net.h"

namespace frostnas {

/// QAT -> INT8. BN is folded with its running statistics, weights are quantized per
/// channel or per tensor exactly as the layer's fake_quantize_weight did (the `weights`
/// of its last QatMode; the QatNet's own scheme), and every scale / zero point is the
/// one the layer's fake quantizer computes from its observer min/max. The observers
/// must have seen data (TORCH_CHECK otherwise). Matches the QatNet in eval mode with
/// BN frozen or in eval.
Int8ConvBnAct convert_to_int8(QatConvBnActImpl& conv, QuantEngine engine);
/// One QAT cell op (trainer/quant/cell_ops.h; not "none").
Int8CellOp convert_to_int8(CellOpImpl& op, QuantEngine engine);
Int8Cell convert_to_int8(QatCellImpl& cell, const ResolvedBlock& block, QuantEngine engine);
Int8Block convert_to_int8(QatBlockImpl& block, QuantEngine engine);
/// Uses the network's engine.
Int8Net convert_to_int8(QatNetImpl& net);

/// Float -> FP32 inference model with BN folded (running statistics), channels-last.
FoldedConv fold_to_fp32(QatConvBnActImpl& conv);
FoldedConv fold_to_fp32(ConvBnActImpl& conv);
/// The convs of a cell in the order of the block's "cell.*" ConvLayers (BN folded;
/// the "se" convs keep their bias).
std::vector<FoldedConv> fold_to_fp32(QatCellImpl& cell, const ResolvedBlock& block);
std::vector<FoldedConv> fold_to_fp32(FloatCellImpl& cell, const ResolvedBlock& block);
FoldedBlock fold_to_fp32(QatBlockImpl& block);
FoldedBlock fold_to_fp32(FrostBlockImpl& block);
FoldedNet fold_to_fp32(QatNetImpl& net);
FoldedNet fold_to_fp32(FrostNetImpl& net);

}  // namespace frostnas
