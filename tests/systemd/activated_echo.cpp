// SPDX-License-Identifier: MIT
// A minimal socket-activated service for the systemd tests, built on take_listen_fds() and the
// notifier alone.
//
//   activated_echo            take the passed sockets, answer one connection on each, exit 0
//   activated_echo --serve    answer connections on every passed socket until SIGTERM
//   activated_echo --store    with --serve: first hand every socket to the fd store
//
// Each connection gets one line and is closed:
//   name=<fd name> fd=<n> cloexec=<0|1> listen_env=<set|unset> pid=<pid>
// A socket-activation error prints "activated_echo: <what>" and exits 78. Startup ends with
// "activated_echo: ready" on stdout and READY=1 on NOTIFY_SOCKET (if set); SIGTERM sends
// STOPPING=1 and exits 0.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lifetime/host/systemd/error.hpp"
#include "lifetime/host/systemd/listen_fds.hpp"
#include "lifetime/host/systemd/notifier.hpp"

namespace systemd = lifetime::host::systemd;

namespace {

void answer(const systemd::listen_fd& listener) {
  const int connection = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (connection < 0)
    return;  // EAGAIN on a racing accept, or the client left
  const int flags = ::fcntl(listener.fd, F_GETFD);
  const std::string line = "name=" + listener.name + " fd=" + std::to_string(listener.fd) +
                           " cloexec=" + ((flags & FD_CLOEXEC) != 0 ? "1" : "0") + " listen_env=" +
                           (std::getenv("LISTEN_FDS") != nullptr ? "set" : "unset") +
                           " pid=" + std::to_string(::getpid()) + "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n =
        ::send(connection, line.data() + written, line.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    written += static_cast<std::size_t>(n);
  }
  ::close(connection);
}

int serve(const std::vector<systemd::listen_fd>& listeners, systemd::notifier& notifier) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  const int signal_fd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::perror("activated_echo: signalfd");
    return 1;
  }
  std::vector<pollfd> polled;
  for (const auto& listener : listeners)
    polled.push_back(pollfd{listener.fd, POLLIN, 0});
  polled.push_back(pollfd{signal_fd, POLLIN, 0});
  while (true) {
    if (::poll(polled.data(), polled.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      std::perror("activated_echo: poll");
      return 1;
    }
    if ((polled.back().revents & POLLIN) != 0) {
      notifier.stopping();
      return 0;
    }
    for (std::size_t i = 0; i < listeners.size(); ++i) {
      if ((polled[i].revents & POLLIN) != 0)
        answer(listeners[i]);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool serve_mode = false;
  bool store = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--serve") {
      serve_mode = true;
    } else if (arg == "--store") {
      store = true;
    } else {
      std::fprintf(stderr, "activated_echo: unknown argument %s\n", argv[i]);
      return 64;
    }
  }
  // SIGTERM is taken through a signalfd; block it before anything else can receive it.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);

  std::vector<systemd::listen_fd> listeners;
  try {
    listeners = systemd::take_listen_fds();
  } catch (const systemd::environment_error& e) {
    std::fprintf(stderr, "activated_echo: %s\n", e.what());
    return 78;
  }
  auto notifier = systemd::notifier::from_environment();
  notifier.set_warning_handler([](std::string_view text) {
    std::fprintf(stderr, "activated_echo: warning: %.*s\n", static_cast<int>(text.size()),
                 text.data());
  });
  if (store) {
    for (const auto& listener : listeners)
      notifier.store_fd(listener.fd, listener.name);
  }
  std::printf("activated_echo: ready, %zu socket(s)\n", listeners.size());
  std::fflush(stdout);
  notifier.ready();

  if (serve_mode)
    return serve(listeners, notifier);
  for (const auto& listener : listeners)
    answer(listener);
  return 0;
}
