#include "trainer/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "common/error.h"

namespace frostnas {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path());
  if (ec) throw InputError(dir.string() + ": cannot list (" + ec.message() + ")");
  std::sort(entries.begin(), entries.end());
  return entries;
}

std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::path& p : sorted_entries(dir))
    if (fs::is_directory(p)) names.push_back(p.filename().string());
  return names;
}

/// The folder holding the class folders of `split`, or empty when it has none.
fs::path split_folder(const fs::path& root, const std::string& split) {
  const bool layered = fs::is_directory(root / "train");
  if (split == "train") return layered ? root / "train" : root;
  if (!layered) return {};
  if (fs::is_directory(root / "test")) return root / "test";
  if (fs::is_directory(root / "val")) return root / "val";
  return {};
}

bool all_integers(const std::vector<std::string>& names) {
  return std::all_of(names.begin(), names.end(), [](const std::string& s) {
    return !s.empty() && s.size() < 10 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  });
}

std::vector<std::string> split_line(const std::string& line) {
  const char sep = line.find('\t') != std::string::npos ? '\t' : ',';
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t at; (at = line.find(sep, start)) != std::string::npos; start = at + 1)
    fields.push_back(line.substr(start, at - start));
  fields.push_back(line.substr(start));
  for (std::string& f : fields) {
    f.erase(0, f.find_first_not_of(" \r"));
    f.erase(f.find_last_not_of(" \r") + 1);
  }
  return fields;
}

std::vector<std::string> read_class_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open");
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    line.erase(line.find_last_not_of(" \r\t") + 1);
    if (line.empty()) continue;
    if (!seen.insert(line).second)
      throw InputError(path.string() + ": line " + std::to_string(names.size() + 1) + ": class '" +
                       line + "' listed twice");
    names.push_back(line);
  }
  if (names.empty()) throw InputError(path.string() + ": no class names");
  return names;
}

int64_t list_label(const std::string& label, const std::vector<std::string>& classes,
                   const std::string& where) {
  const auto it = std::find(classes.begin(), classes.end(), label);
  if (it != classes.end()) return it - classes.begin();
  if (all_integers({label})) {
    const int64_t index = std::stoll(label);
    if (index < static_cast<int64_t>(classes.size())) return index;
  }
  throw InputError(where + ": label '" + label + "' out of range (allowed: the " +
                   std::to_string(classes.size()) + " names of classes.txt or 0.." +
                   std::to_string(classes.size() - 1) + ")");
}

}  // namespace

ImageList list_image_folder(const std::string& root_name, const std::string& split) {
  const fs::path root(root_name);
  ImageList list;
  list.name = "folder:" + root_name;
  list.split = split;
  if (!fs::is_directory(root)) throw InputError(list.name + ": " + root_name + ": no such folder");
  const fs::path train_dir = split_folder(root, "train");
  list.class_names = class_folders(train_dir);
  if (list.class_names.empty())
    throw InputError(list.name + ": " + train_dir.string() +
                     ": no class folders (expected <class>/<images>)");
  const fs::path dir = split_folder(root, split);
  if (dir.empty())
    throw InputError(list.name + ": no " + split + " split (expected " + (root / "test").string() +
                     " or " + (root / "val").string() + " beside " + (root / "train").string() +
                     "; train with --no-test)");
  for (const std::string& name : class_folders(dir)) {
    const auto it = std::find(list.class_names.begin(), list.class_names.end(), name);
    if (it == list.class_names.end())
      throw InputError(list.name + ": " + (dir / name).string() + ": class '" + name +
                       "' is not a class of " + train_dir.string());
    const int64_t label = it - list.class_names.begin();
    int64_t images = 0;
    for (const fs::path& p : sorted_entries(dir / name)) {
      if (!is_image_name(p) || fs::is_directory(p)) {
        ++list.ignored;
        continue;
      }
      list.files.push_back({p.string(), label});
      ++images;
    }
    if (images == 0 && split == "train")
      throw InputError(list.name + ": " + (dir / name).string() +
                       ": empty class folder (no .jpg, .jpeg or .png files; remove the folder or "
                       "add images)");
  }
  return list;
}

ImageList read_image_list(const std::string& list_file, const std::string& split) {
  ImageList list;
  list.name = "list:" + list_file;
  list.split = split;
  if (split != "train")
    throw InputError(list.name + ": no " + split +
                     " split (a list file holds the train split only; train with --no-test)");
  std::ifstream in(list_file);
  if (!in) throw InputError(list_file + ": cannot open (no such file?)");
  const fs::path base = fs::path(list_file).parent_path();
  const fs::path class_file = base / "classes.txt";
  const bool fixed = fs::exists(class_file);
  if (fixed) list.class_names = read_class_file(class_file);
  struct Entry {
    std::string path, label, where;
  };
  std::vector<Entry> entries;
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const std::string where = list_file + ": line " + std::to_string(line_no);
    const std::vector<std::string> f = split_line(line);
    if (f.size() == 1 && f[0].empty()) continue;
    if (f[0].rfind('#', 0) == 0 || (line_no == 1 && f.size() == 2 && f[0] == "path")) continue;
    if (f.size() != 2 || f[0].empty() || f[1].empty())
      throw InputError(where + ": expected 'path,label' (or path<TAB>label)");
    const fs::path rel = fs::path(f[0]).lexically_normal();
    if (rel.is_absolute() || rel.empty() || *rel.begin() == "..")
      throw InputError(where + ": path '" + f[0] + "' is outside " +
                       (base.empty() ? std::string(".") : base.string()) +
                       " (allowed: paths relative to the list file's folder, inside it)");
    entries.push_back({(base / rel).string(), f[1], where});
  }
  if (!fixed) {
    std::set<std::string> unique;
    for (const Entry& e : entries) unique.insert(e.label);
    list.class_names.assign(unique.begin(), unique.end());
    if (all_integers(list.class_names))
      std::sort(
          list.class_names.begin(), list.class_names.end(),
          [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  }
  if (entries.empty()) throw InputError(list_file + ": no entries (expected 'path,label' lines)");
  for (const Entry& e : entries)
    list.files.push_back({e.path, list_label(e.label, list.class_names, e.where)});
  return list;
}

std::string default_image_cache_dir() {
  if (const char* d = std::getenv("FROSTNAS_CACHE_DIR"); d != nullptr && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d)
    return (fs::path(d) / "frostnas").string();
  if (const char* d = std::getenv("HOME"); d != nullptr && *d)
    return (fs::path(d) / ".cache" / "frostnas").string();
  return (fs::temp_directory_path() / "frostnas-cache").string();
}

ImageDataset load_image_set(const ImageList& list, const ImageSetOptions& options) {
  check_decode_options(options.decode);
  const std::string cache_dir =
      options.cache_dir.empty() ? default_image_cache_dir() : options.cache_dir;
  std::error_code ec;
  const std::string set_id = fs::absolute(list.name.substr(list.name.find(':') + 1), ec).string() +
                             "|" + list.name.substr(0, list.name.find(':')) + "|" + list.split;
  const std::string path = decoded_cache_path(cache_dir, set_id, options.decode);
  const uint64_t key = decoded_cache_key(list.files, options.decode, options.skip_bad_images);
  std::optional<DecodedImages> d = open_decoded_cache(path, key);
  const std::string label = list.name + " " + list.split;
  if (d) {
    std::cerr << label << ": " << d->images.size(0) << " images from the decoded cache " << path
              << "\n";
  } else {
    // Reported once decoded: a refused data set prints only its error line.
    const auto start = std::chrono::steady_clock::now();
    d = build_decoded_cache(path, key, list.files, options.decode, options.skip_bad_images,
                            options.threads);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << label << ": decoded " << list.files.size() << " images in " << seconds
              << " s into " << path << "\n";
  }
  if (list.ignored > 0)
    std::cerr << label << ": ignored " << list.ignored
              << " files without a .jpg, .jpeg or .png name\n";
  if (d->skipped > 0)
    std::cerr << label << ": skipped " << d->skipped << " bad images (first: " << d->first_skipped
              << ")\n";
  if (d->images.size(0) == 0 && !list.files.empty())
    throw InputError(list.name + ": no decodable image in the " + list.split + " split");
  ImageDataset data;
  data.images = d->images;
  data.mapped = true;
  data.labels = d->labels;
  data.num_classes = static_cast<int64_t>(list.class_names.size());
  data.class_names = list.class_names;
  data.mean = d->mean;
  data.std = d->std;
  data.name = list.name;
  return data;
}

}  // namespace frostnas
