#include "trainer/data/decoded_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "common/atomic_write.h"
#include "common/error.h"
#include "common/hash.h"
#include "trainer/data/image_dataset.h"

namespace frostnas {

namespace {

constexpr char kMagic[8] = {'F', 'N', 'A', 'S', 'D', 'E', 'C', '1'};
constexpr int64_t kHeaderBytes = 4096;  // images start page-aligned

/// The fixed part of a cache file; images [N, C, S, S] follow at kHeaderBytes, then
/// labels int64 [N].
struct CacheHeader {
  char magic[8];
  uint64_t key;
  int64_t count, channels, size, skipped;
  float mean[3], std[3];
  char first_skipped[1024];
};
static_assert(sizeof(CacheHeader) <= kHeaderBytes, "cache header must fit its page");

template <typename T>
uint64_t fnv1a_value(uint64_t h, T v) {
  return fnv1a(&v, sizeof v, h);
}

/// With the terminator, so that consecutive strings cannot run into each other.
uint64_t fnv1a_string(uint64_t h, const std::string& s) {
  return fnv1a(s.c_str(), s.size() + 1, h);
}

/// A read-write shared mapping of a whole file, unmapped on destruction.
struct Mapping {
  uint8_t* base = nullptr;
  size_t length = 0;
  Mapping(int fd, size_t len, int prot, int flags) : length(len) {
    void* p = ::mmap(nullptr, len, prot, flags, fd, 0);
    base = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~Mapping() {
    if (base != nullptr) ::munmap(base, length);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

/// Decodes files[i] into slot i of `images` on `threads` threads; returns the
/// error of each file ("" when decoded).
std::vector<std::string> decode_all(const std::vector<ImageFile>& files, const DecodeOptions& o,
                                    uint8_t* images, int64_t threads) {
  const size_t item = o.channels() * o.size() * o.size();
  std::vector<std::string> errors(files.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < files.size();) {
      try {
        const std::vector<uint8_t> bytes = read_file_bytes(files[i].path);
        const DecodeResult r = decode_image(bytes.data(), bytes.size(), o, images + i * item);
        if (r.status != DecodeStatus::kOk) errors[i] = files[i].path + ": " + r.message;
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<int64_t>(threads, std::max<size_t>(files.size(), 1));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return errors;
}

}  // namespace

std::string decoded_cache_path(const std::string& cache_dir, const std::string& set_id,
                               const DecodeOptions& o) {
  std::string tail = std::filesystem::path(set_id).filename().string();
  for (char& ch : tail)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  if (tail.size() > 40) tail.resize(40);
  const std::string hash = hex64(fnv1a_string(kFnvOffsetBasis, set_id));
  const std::string shape = std::to_string(o.channels()) + "x" + std::to_string(o.size()) + "x" +
                            std::to_string(o.size());
  return (std::filesystem::path(cache_dir) / (tail + "-" + hash + "-" + shape + ".u8")).string();
}

uint64_t decoded_cache_key(const std::vector<ImageFile>& files, const DecodeOptions& o,
                           bool skip_bad) {
  uint64_t h = fnv1a_string(kFnvOffsetBasis, "frostnas.decoded/1 resize-shorter+center-crop");
  h = fnv1a_value(h, o.size());
  h = fnv1a_value(h, o.channels());
  h = fnv1a_value(h, o.max_upscale());
  h = fnv1a_value(h, skip_bad);
  for (const ImageFile& f : files) {
    h = fnv1a_string(h, f.path);
    h = fnv1a_value(h, f.label);
    struct stat st;
    int64_t size = -1, mtime = -1;
    if (::stat(f.path.c_str(), &st) == 0) {
      size = st.st_size;
      mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    h = fnv1a_value(h, size);
    h = fnv1a_value(h, mtime);
  }
  return h;
}

std::optional<DecodedImages> open_decoded_cache(const std::string& path, uint64_t key) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  CacheHeader h;
  struct stat st;
  const bool header_ok = ::fstat(fd, &st) == 0 && st.st_size >= kHeaderBytes &&
                         ::pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h) &&
                         std::memcmp(h.magic, kMagic, 8) == 0 && h.key == key && h.count >= 0 &&
                         (h.channels == 1 || h.channels == 3) && h.size >= 1 && h.size <= 4096;
  const int64_t item = header_ok ? h.channels * h.size * h.size : 0;
  if (!header_ok || st.st_size != kHeaderBytes + h.count * item + h.count * 8) {
    ::close(fd);
    return std::nullopt;
  }
  // Private and copy-on-write: the file is never modified through this mapping.
  void* p = ::mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return std::nullopt;
  auto* base = static_cast<uint8_t*>(p);
  const size_t length = st.st_size;
  DecodedImages d;
  d.images = torch::from_blob(
      base + kHeaderBytes, {h.count, h.channels, h.size, h.size},
      [base, length](void*) { ::munmap(base, length); }, torch::kUInt8);
  d.labels = torch::empty({h.count}, torch::kInt64);
  std::memcpy(d.labels.data_ptr<int64_t>(), base + kHeaderBytes + h.count * item, h.count * 8);
  d.mean.assign(h.mean, h.mean + h.channels);
  d.std.assign(h.std, h.std + h.channels);
  d.skipped = h.skipped;
  h.first_skipped[sizeof h.first_skipped - 1] = '\0';
  d.first_skipped = h.first_skipped;
  return d;
}

namespace {

/// Closes a file descriptor on destruction.
struct FileDescriptor {
  int fd;
  explicit FileDescriptor(int f) : fd(f) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// Decodes `files` into `images` ([N, C, S, S] bytes), moves the good ones to the front and
// appends their labels; fills the header's counts, statistics and first error. Bad images
// are an InputError unless `skip_bad`.
void fill_cache(uint8_t* images, const std::vector<ImageFile>& files, const DecodeOptions& o,
                bool skip_bad, int64_t threads, CacheHeader& h) {
  const int64_t n = static_cast<int64_t>(files.size());
  const int64_t item = o.channels() * o.size() * o.size();
  const std::vector<std::string> errors = decode_all(files, o, images, threads);
  std::vector<int64_t> labels;
  std::string first_bad;
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) {
      if (first_bad.empty()) first_bad = errors[i];
      continue;
    }
    if (kept != i) std::memmove(images + kept * item, images + i * item, item);
    labels.push_back(files[i].label);
    ++kept;
  }
  h.skipped = n - kept;
  if (h.skipped > 0 && !skip_bad) {
    throw InputError(
        first_bad +
        (h.skipped > 1 ? " (and " + std::to_string(h.skipped - 1) + " more bad images;" : " (") +
        " --skip-bad-images leaves bad images out)");
  }
  std::strncpy(h.first_skipped, first_bad.c_str(), sizeof h.first_skipped - 1);
  if (kept > 0) {
    const ChannelStats stats = channel_stats(
        torch::from_blob(images, {kept, o.channels(), o.size(), o.size()}, torch::kUInt8));
    std::copy(stats.mean.begin(), stats.mean.end(), h.mean);
    std::copy(stats.std.begin(), stats.std.end(), h.std);
  }
  std::memcpy(images + kept * item, labels.data(), kept * 8);
  h.count = kept;
}

// Writes the whole cache file of `files` to `tmp`; disk failures are reported against the
// cache's final `path`.
void write_cache_file(const std::string& tmp, const std::string& path, uint64_t key,
                      const std::vector<ImageFile>& files, const DecodeOptions& o, bool skip_bad,
                      int64_t threads) {
  const int64_t n = static_cast<int64_t>(files.size());
  const int64_t item = o.channels() * o.size() * o.size();
  FileDescriptor file(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.fd < 0) throw_write_error(path, errno);
  const size_t full = kHeaderBytes + n * item + n * 8;
  // Reserved up front: a full disk fails here, not as SIGBUS while writing the mapping.
  if (const int rc = ::posix_fallocate(file.fd, 0, full); rc != 0) throw_write_error(path, rc);
  CacheHeader h{};
  std::memcpy(h.magic, kMagic, 8);
  h.key = key;
  h.channels = o.channels();
  h.size = o.size();
  {
    Mapping map(file.fd, full, PROT_READ | PROT_WRITE, MAP_SHARED);
    if (map.base == nullptr) throw_write_error(path, errno);
    fill_cache(map.base + kHeaderBytes, files, o, skip_bad, threads, h);
  }
  errno = 0;
  if (::pwrite(file.fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h) ||
      ::ftruncate(file.fd, kHeaderBytes + h.count * item + h.count * 8) != 0 ||
      ::fdatasync(file.fd) != 0)
    throw_write_error(path, errno != 0 ? errno : EIO);
}

}  // namespace

DecodedImages build_decoded_cache(const std::string& path, uint64_t key,
                                  const std::vector<ImageFile>& files, const DecodeOptions& o,
                                  bool skip_bad, int64_t threads) {
  check_decode_options(o);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  atomic_write_with(path, [&](const std::string& tmp) {
    write_cache_file(tmp, path, key, files, o, skip_bad, threads);
  });
  std::optional<DecodedImages> d = open_decoded_cache(path, key);
  if (!d)
    throw EnvironmentError(path + ": the decoded-image cache just written cannot be read back");
  return std::move(*d);
}

}  // namespace frostnas
