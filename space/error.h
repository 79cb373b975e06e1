#pragma once

#include <stdexcept>
#include <string>

namespace frostnas {

/// Bad user input: a file, a JSON field, an option or a name. The command line
/// prints it as one line and exits with status 2; the message names the file,
/// the field and the allowed values.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace frostnas
