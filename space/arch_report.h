#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "space/resolved_net.h"
#include "space/search_space.h"

namespace frostnas {

/// "4,858,776"
std::string format_count(int64_t n);

/// A table of the network's layers with shapes, parameters and MACs.
std::string describe(const ResolvedNet& net);
/// The same as one JSON object: name, params, macs, input_size, in_channels,
/// num_classes, width_mult, stem, blocks, head, classifier, arch.
nlohmann::json describe_json(const ResolvedNet& net);

/// Slots, options, size and distinct blocks of a search space.
std::string describe(const SearchSpace& space);
nlohmann::json describe_json(const SearchSpace& space);

}  // namespace frostnas
