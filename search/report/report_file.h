#pragma once

#include <string>
#include <vector>

namespace frostnas {

/// One output file of a command: where it goes, the flag that named it (for
/// errors) and its whole content.
struct OutputFile {
  std::string flag;  ///< e.g. "--out"
  std::string path;
  std::string text;
};

/// Writes all `files` or none: each goes to a temporary file beside its target,
/// then all are renamed over their targets. On any failure the temporary files and
/// the targets already renamed are removed and `<flag>: <path>: cannot write file
/// (<reason>)` is thrown as throw_write_error does (InputError for a bad path,
/// EnvironmentError for a refusing disk).
void write_files_atomically(const std::vector<OutputFile>& files);

}  // namespace frostnas
