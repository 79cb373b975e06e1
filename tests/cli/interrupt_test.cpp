#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <gtest/gtest.h>

#include "cli/interrupt.h"

using frostnas::cli::InterruptGuard;

namespace {

extern "C" void count_signal(int) {}

}  // namespace

TEST(Interrupt, FirstCtrlCSetsTheFlagAndTheHandlerIsRestored) {
  const auto outer = std::signal(SIGINT, count_signal);
  {
    InterruptGuard guard;
    EXPECT_FALSE(guard.flag()->load());
    std::raise(SIGINT);
    EXPECT_TRUE(guard.flag()->load());
  }
  // The guard put back the handler it found.
  EXPECT_EQ(std::signal(SIGINT, outer), count_signal);
  InterruptGuard fresh;
  EXPECT_FALSE(fresh.flag()->load());
}

TEST(Interrupt, SecondCtrlCKillsTheProcess) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    InterruptGuard guard;
    std::raise(SIGINT);
    if (!guard.flag()->load()) ::_exit(3);
    std::raise(SIGINT);
    ::_exit(0);  // not reached: the second SIGINT terminates the process
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGINT);
}
