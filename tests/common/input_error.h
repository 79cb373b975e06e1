#pragma once

#include <string>
#include <utility>

#include "common/error.h"

namespace frostnas::testing {

/// Runs `f` and returns the message of the InputError it throws ("" when it throws none).
template <typename F>
std::string input_error(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace frostnas::testing
