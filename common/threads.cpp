#include "common/threads.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include <torch/torch.h>

#include "common/error.h"

namespace frostnas {

namespace {

std::atomic<int64_t> g_threads{0};

void set_openblas_threads(int threads) {
  // OpenBLAS reads OPENBLAS_NUM_THREADS once, at load: the exported function is the only way
  // to change the count of a running process.
  using SetThreads = void (*)(int);
  for (const char* lib : {"libopenblas.so.0", "libblas.so.3"}) {
    if (void* h = ::dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) {
      if (auto f = reinterpret_cast<SetThreads>(::dlsym(h, "openblas_set_num_threads"))) f(threads);
      ::dlclose(h);
    }
  }
}

}  // namespace

void set_threads(int64_t threads) {
  if (threads < 1 || threads > 1024) {
    throw InputError("threads: " + std::to_string(threads) + " is out of range (allowed: 1..1024)");
  }
  const int n = static_cast<int>(threads);
  torch::set_num_threads(n);
  static std::once_flag interop_once;
  std::call_once(interop_once, [n] {
    try {
      torch::set_num_interop_threads(n);
    } catch (const c10::Error&) {
      // The pool is already running (something used it first): it keeps its size.
    }
  });
  ::setenv("OPENBLAS_NUM_THREADS", std::to_string(n).c_str(), 1);
  set_openblas_threads(n);
  g_threads.store(threads);
}

int64_t current_threads() { return g_threads.load(); }

int64_t available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}

void configure_runtime(int64_t threads) {
  static std::once_flag malloc_once;
  std::call_once(malloc_once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  });
  if (threads > 0) set_threads(threads);
}

}  // namespace frostnas
