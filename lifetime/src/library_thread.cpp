// SPDX-License-Identifier: MIT
#include "library_thread.hpp"

#include <pthread.h>

#include <csignal>
#include <initializer_list>

namespace lifetime::detail {

void block_async_signals() noexcept {
  sigset_t set;
  sigfillset(&set);
  for (const int synchronous : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS})
    sigdelset(&set, synchronous);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace lifetime::detail
