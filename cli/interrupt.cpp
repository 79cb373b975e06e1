#include "cli/interrupt.h"

#include <csignal>

namespace frostnas::cli {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int signal) {
  g_interrupted.store(true);
  std::signal(signal, SIG_DFL);
}

}  // namespace

InterruptGuard::InterruptGuard(bool also_terminate) : also_terminate_(also_terminate) {
  g_interrupted.store(false);
  previous_ = std::signal(SIGINT, on_interrupt);
  if (also_terminate_) previous_term_ = std::signal(SIGTERM, on_interrupt);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, previous_);
  if (also_terminate_) std::signal(SIGTERM, previous_term_);
}

std::atomic<bool>* InterruptGuard::flag() { return &g_interrupted; }

}  // namespace frostnas::cli
