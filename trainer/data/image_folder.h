#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/data/decoded_cache.h"
#include "trainer/data/image_dataset.h"

namespace frostnas {

/// The files of one split of an image data set on disk, before decoding.
struct ImageList {
  std::string name;                      ///< "folder:ROOT" or "list:FILE"
  std::string split;                     ///< "train" or "test"
  std::vector<std::string> class_names;  ///< index = label
  std::vector<ImageFile> files;          ///< folder sets: by class, then file name
  int64_t ignored = 0;                   ///< files without a .jpg/.jpeg/.png extension
};

/// A class-per-folder layout: ROOT/train/<class>/<images> with an optional
/// ROOT/test/ (or ROOT/val/) beside it, or ROOT/<class>/<images> (train only).
/// Class names are the train split's folder names, sorted; images are the files
/// ending .jpg, .jpeg or .png (any case), other files are counted in `ignored`.
/// Throws InputError naming the folder for a missing root or split, a train class
/// folder without images, no class folders, or a test class that train lacks.
ImageList list_image_folder(const std::string& root, const std::string& split);

/// A list file of `path,label` lines (a tab instead of the comma also works; a first
/// line `path,label`, blank lines and lines starting with '#' are skipped). Paths
/// are relative to the list file's folder and may not leave it. A label is a class
/// name; with a `classes.txt` beside the list (one name per line) it fixes the
/// classes and their order and a label may also be a class index. Without it the
/// classes are the labels sorted (numerically when all are integers). Only a
/// "train" split exists. Throws InputError naming the file and line for a
/// malformed line, an absolute or escaping path, or an unknown or out-of-range label.
ImageList read_image_list(const std::string& list_file, const std::string& split);

/// Decoding and cache settings of an image-file data set.
struct ImageSetOptions {
  DecodeOptions decode;
  /// Leave bad images (missing, not an image, corrupt, truncated, too small) out
  /// and count them, instead of refusing the data set.
  bool skip_bad_images = false;
  /// Folder of the decoded cache; empty: default_image_cache_dir().
  std::string cache_dir;
  /// Decoding threads; 0: all cores.
  int64_t threads = 0;
};

/// $FROSTNAS_CACHE_DIR, else $XDG_CACHE_HOME/frostnas, else ~/.cache/frostnas.
std::string default_image_cache_dir();

/// The decoded data set: from its cache file when the files and settings are
/// unchanged, else decoded on all cores into a new cache file first (one line on
/// stderr says which, and how many bad images were skipped). images uint8
/// [N, C, S, S] (memory-mapped), labels, class names and the per-channel mean/std of
/// these images. Throws InputError for bad images (see build_decoded_cache) and
/// when no image is left.
ImageDataset load_image_set(const ImageList& list, const ImageSetOptions& options);

}  // namespace frostnas
