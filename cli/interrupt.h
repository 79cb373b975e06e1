#pragma once

#include <atomic>

namespace frostnas::cli {

/// Ctrl-C during a long command: while a guard lives, the first SIGINT sets the flag that
/// the library polls (it stops at its next safe point: a checkpoint, a finished candidate),
/// and a second one kills the process the usual way. The previous handler is restored when
/// the guard goes, also when the command throws. One guard at a time.
class InterruptGuard {
 public:
  /// With `also_terminate`, SIGTERM sets the flag too (what mpirun sends its ranks on Ctrl-C).
  explicit InterruptGuard(bool also_terminate = false);
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// The flag to hand to the library (TrainCallbacks::stop_flag, PipelineHooks::stop, ...).
  std::atomic<bool>* flag();

 private:
  void (*previous_)(int);
  void (*previous_term_)(int) = nullptr;
  bool also_terminate_ = false;
};

}  // namespace frostnas::cli
