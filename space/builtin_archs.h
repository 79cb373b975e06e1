#pragma once

#include <string>
#include <vector>

#include "space/net_spec.h"

namespace frostnas {

/// Official FrostNet variants.
const std::vector<std::string>& frostnet_variants();  ///< small, base, large
/// Published width multipliers.
const std::vector<double>& frostnet_widths();  ///< 0.35, 0.5, 0.75, 1.0, 1.25

/// The official configuration (docs/frostnet.md, "Official configurations") of `variant` at
/// `width_mult`, 224x224x3 input, 1000 classes. Throws InputError on an unknown variant.
NetSpec frostnet_spec(const std::string& variant, double width_mult);

/// Names of the built-in architectures: frostnet-{small,base,large}-{0.35,...,1.25}.
std::vector<std::string> builtin_arch_names();
bool is_builtin_arch(const std::string& name);
/// A built-in by name; throws InputError listing the known names.
NetSpec builtin_arch(const std::string& name);

/// A built-in name or the path of a `frostnas.arch/1` JSON file.
NetSpec load_arch(const std::string& name_or_path);

}  // namespace frostnas
