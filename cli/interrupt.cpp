#include "cli/interrupt.h"

#include <csignal>

namespace frostnas::cli {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) {
  g_interrupted.store(true);
  std::signal(SIGINT, SIG_DFL);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted.store(false);
  previous_ = std::signal(SIGINT, on_interrupt);
}

InterruptGuard::~InterruptGuard() { std::signal(SIGINT, previous_); }

std::atomic<bool>* InterruptGuard::flag() { return &g_interrupted; }

}  // namespace frostnas::cli
