#pragma once

#include <string>

#include "trainer/int8/int8_net.h"

namespace frostnas {

/// The "format" field of `int8_model.json`.
constexpr const char* kInt8ModelFormat = "frostnas.int8/1";
constexpr const char* kInt8ModelJson = "int8_model.json";
constexpr const char* kInt8TensorsFile = "int8_tensors.pt";

/// Writes `dir/int8_model.json` (format, engine, weight_quant ("per_channel" or
/// "per_tensor"; a file without it loads as per_channel), architecture JSON, the input
/// qparams, every conv's output qparams and every block's cat / add qparams) and
/// `dir/int8_tensors.pt` (torch::pickle_save dictionary: `<layer>.codes` int8,
/// `<layer>.scales` float [out] (per tensor: one value repeated), `<layer>.bias` float, with layers
/// named `stem`, `blocks.<i>.<role>` (cell blocks: `blocks.<i>.cell.pre`,
/// `blocks.<i>.cell.n<j>.e<k>.<op role>`, and a "cell" object per block with the op / add qparams),
/// `head`, `classifier`). Creates `dir`; each file is written to a temporary name and renamed into
/// place, the JSON last.
void save_int8_model(const Int8Net& net, const std::string& dir);

/// Loads an INT8 model saved by save_int8_model, without the training code. Throws
/// InputError naming the file and the field on a missing, corrupt or inconsistent
/// artifact (or an engine this build lacks).
Int8Net load_int8_model(const std::string& dir);

}  // namespace frostnas
