#pragma once

#include <cstdint>

namespace frostnas {

/// Sets every thread pool a frostnas process uses to `threads` (> 0): LibTorch's intra-op
/// pool (OpenMP, which oneDNN's kernels follow), LibTorch's inter-op pool (only before its
/// first use; later calls keep the size it has), and OpenBLAS, whose count Debian's LibTorch
/// reads through both libopenblas.so.0 and libblas.so.3. OPENBLAS_NUM_THREADS is exported too,
/// so that child processes start with the same count. The data loader's background thread
/// runs serial loops and needs no setting. Throws InputError when threads < 1.
void set_threads(int64_t threads);

/// The thread count set by the last set_threads (0 before any call).
int64_t current_threads();

/// The number of cores this process may run on (sched_getaffinity), at least 1.
int64_t available_cores();

/// Once per process: glibc malloc tunables (mmap threshold 32 MiB, trim threshold 1 GiB), so
/// that the activations freed and allocated again every step stay in the heap instead of
/// being unmapped and mapped again (the largest cost of a training step on the VMs measured,
/// docs/results.md). With threads > 0 also set_threads(threads).
void configure_runtime(int64_t threads);

}  // namespace frostnas
