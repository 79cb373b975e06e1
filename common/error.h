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

/// The environment failed the program: a file that cannot be written (disk full, permission
/// denied, read-only file system). The command line prints it as one line and exits with
/// status 1; the message names the path and the system's reason.
class EnvironmentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace frostnas
