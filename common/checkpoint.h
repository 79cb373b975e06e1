#pragma once

// Checkpoints: a JSON state tagged with its format, plus torch archives (modules,
// optimizers, tensors). Every write is atomic (a temporary file renamed into place), and
// every read checks the format and turns a torch or JSON failure into an InputError that
// names the file.

#include <functional>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

namespace frostnas {

/// Reads the JSON state file `path` and checks its "format" field. Throws InputError
/// naming the file when it is missing, not JSON, or of another format.
nlohmann::json read_state_file(const std::string& path, const std::string& format);

/// Writes one checkpoint file: `state` (which must hold "format") under the key "state",
/// then whatever `write_parts` adds to the archive. Atomic.
void save_archive_checkpoint(
    const std::string& path, const nlohmann::json& state,
    const std::function<void(torch::serialize::OutputArchive&)>& write_parts = nullptr);

/// Opens a checkpoint written by save_archive_checkpoint, checks its format and returns
/// its state; `archive` stays open for the parts. Throws InputError naming the file.
nlohmann::json load_archive_checkpoint(const std::string& path, const std::string& format,
                                       torch::serialize::InputArchive& archive);

/// Runs `read` (a torch::load or an archive read of `path`), turning a torch error into
/// InputError("<path>: unreadable <what> (...)"), and a missing file into
/// InputError("<path>: missing <what>").
void read_torch_file(const std::string& path, const std::string& what,
                     const std::function<void()>& read);

}  // namespace frostnas
