// Decoding throughput of an image folder's train split: cold (decode every file on
// --threads threads into a new decoded cache) and from the cache (map the cache file
// and read every image once). bench/python/decode_vs_pillow.py runs it next to Pillow.
//
//   ninja -C build image_decode_bench
//   build/bench/image_decode_bench --folder /tmp/fmnist_jpeg --size 64 --channels 3 --threads 2
//
// Prints one line per figure and, last, one JSON object with all of them.
#include <chrono>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "trainer/data/decoded_cache.h"
#include "trainer/data/image_folder.h"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("image_decode_bench options");
  options.add_options()("help", "this text")("folder", po::value<std::string>()->required(),
                                             "image folder (its train split is decoded)")(
      "size", po::value<int64_t>()->default_value(64), "decoded side")(
      "channels", po::value<int64_t>()->default_value(3), "1 or 3")(
      "threads", po::value<int64_t>()->default_value(0), "decoding threads (0: all cores)")(
      "cache-dir", po::value<std::string>()->default_value(""),
      "cache folder (default: a fresh one under the temp dir, removed at the end)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  po::notify(vm);
  const frostnas::DecodeOptions decode = frostnas::DecodeOptions()
                                             .size(vm["size"].as<int64_t>())
                                             .channels(vm["channels"].as<int64_t>());
  const int64_t threads = vm["threads"].as<int64_t>();
  std::string cache_dir = vm["cache-dir"].as<std::string>();
  const bool own_dir = cache_dir.empty();
  if (own_dir)
    cache_dir = (std::filesystem::temp_directory_path() /
                 ("frostnas_decode_bench_" + std::to_string(::getpid())))
                    .string();

  const frostnas::ImageList list =
      frostnas::list_image_folder(vm["folder"].as<std::string>(), "train");
  const auto n = static_cast<double>(list.files.size());
  const std::string path = frostnas::decoded_cache_path(cache_dir, "bench", decode);
  std::filesystem::remove(path);

  auto t = Clock::now();
  const uint64_t key = frostnas::decoded_cache_key(list.files, decode, false);
  const double key_s = seconds_since(t);
  t = Clock::now();
  frostnas::build_decoded_cache(path, key, list.files, decode, false, threads);
  const double cold_s = seconds_since(t);

  t = Clock::now();
  const auto cached = frostnas::open_decoded_cache(path, key);
  uint64_t sum = 0;
  const torch::Tensor images = cached->images;
  const uint8_t* p = images.data_ptr<uint8_t>();
  for (int64_t i = 0, total = images.numel(); i < total; ++i) sum += p[i];
  const double cache_s = seconds_since(t);
  if (own_dir) std::filesystem::remove_all(cache_dir);

  std::cout << "images " << list.files.size() << ", " << decode.channels() << "x" << decode.size()
            << "x" << decode.size() << ", threads " << threads << "\n"
            << "cache key (stat of every file): " << key_s << " s\n"
            << "cold decode into the cache: " << cold_s << " s, " << n / cold_s << " img/s\n"
            << "from the cache (map + read every byte): " << cache_s << " s, " << n / cache_s
            << " img/s (checksum " << sum << ")\n";
  std::cout << nlohmann::json({{"images", list.files.size()},
                               {"size", decode.size()},
                               {"channels", decode.channels()},
                               {"threads", threads},
                               {"key_seconds", key_s},
                               {"cold_seconds", cold_s},
                               {"cold_images_per_second", n / cold_s},
                               {"cache_seconds", cache_s},
                               {"cache_images_per_second", n / cache_s}})
                   .dump()
            << "\n";
  return 0;
}
