#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/data/image_decode.h"

namespace frostnas {

/// One image file of a data set and its class index.
struct ImageFile {
  std::string path;
  int64_t label = 0;
};

/// Images decoded to one size and preprocessing, as held in a cache file.
struct DecodedImages {
  torch::Tensor images;  ///< uint8 [N, C, S, S], memory-mapped from the cache file (read-only data)
  torch::Tensor labels;  ///< int64 [N]
  std::vector<float> mean, std;  ///< per channel, pixel scale [0, 1]
  int64_t skipped = 0;           ///< files left out as bad (with skip_bad)
  std::string first_skipped;     ///< "<path>: <reason>" of the first of them
};

/// The cache file of one data set split decoded with `options`: a name made of
/// `set_id` (any text; it is hashed) and the options, inside `cache_dir`.
std::string decoded_cache_path(const std::string& cache_dir, const std::string& set_id,
                               const DecodeOptions& options);

/// A hash of every file's path, label, size and modification time, the options and
/// `skip_bad`: a cache file whose stored key differs is rebuilt.
uint64_t decoded_cache_key(const std::vector<ImageFile>& files, const DecodeOptions& options,
                           bool skip_bad);

/// The cache file at `path` when it exists, is complete and holds `key`; nullopt
/// otherwise (then it is to be rebuilt). The images stay memory-mapped: later
/// epochs and runs read pages of the file instead of decoding.
std::optional<DecodedImages> open_decoded_cache(const std::string& path, uint64_t key);

/// Decodes every file on `threads` threads (0: all cores) straight into a
/// temporary file beside `path`, then renames it into place and opens it.
/// A bad file (missing, not an image, corrupt or truncated, too small) throws
/// InputError naming it (the first in list order, with the count of the others)
/// unless `skip_bad`, which leaves it out and counts it. Throws std::runtime_error
/// when the cache cannot be written (disk full, permissions).
DecodedImages build_decoded_cache(const std::string& path, uint64_t key,
                                  const std::vector<ImageFile>& files, const DecodeOptions& options,
                                  bool skip_bad, int64_t threads = 0);

}  // namespace frostnas
