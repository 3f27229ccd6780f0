// SPDX-License-Identifier: MIT
#include "demo_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace lifetime::demo::test {

namespace {
std::vector<std::string> with_listen(std::vector<std::string> args, int listen_fd) {
  bool has_listen = false;
  for (const auto& a : args)
    has_listen = has_listen || a.starts_with("--listen");
  if (!has_listen && listen_fd < 0)
    args.push_back("--listen=127.0.0.1:0");
  return args;
}
}  // namespace

demo_process::demo_process(std::vector<std::string> args, int listen_fd,
                           std::string notify_socket) {
  args = with_listen(std::move(args), listen_fd);
  args.insert(args.begin(), LIFETIME_DEMO_BINARY);
  launch(std::move(args), listen_fd, notify_socket);
}

demo_process::demo_process(std::vector<std::string> args, no_wait_t) {
  args.insert(args.begin(), LIFETIME_DEMO_BINARY);
  launch(std::move(args), -1, {}, false);
}

demo_process::demo_process(std::string shell_prefix, std::vector<std::string> args) {
  args = with_listen(std::move(args), -1);
  args.insert(args.begin(), LIFETIME_DEMO_BINARY);
  args.insert(args.begin(), {"/bin/sh", "-c", shell_prefix});
  launch(std::move(args), -1, {});
}

void demo_process::launch(std::vector<std::string> args, int listen_fd,
                          const std::string& notify_socket, bool wait_serving) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    if (listen_fd >= 0) {
      const int high = ::fcntl(listen_fd, F_DUPFD_CLOEXEC, 10);
      ::dup2(high, 3);  // the copy at 3 is inherited (dup2 clears FD_CLOEXEC)
      ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
      ::setenv("LISTEN_FDS", "1", 1);
      ::setenv("LISTEN_FDNAMES", "http", 1);
    }
    if (notify_socket.empty()) {
      ::unsetenv("NOTIFY_SOCKET");
    } else {
      ::setenv("NOTIFY_SOCKET", notify_socket.c_str(), 1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  out_ = pipe_fds[0];
  if (!wait_serving)
    return;
  const std::string marker = "serving http://";
  if (!wait_for_log(marker, std::chrono::seconds(10))) {
    throw std::runtime_error("lifetime-demo did not start: " + output_);
  }
  const auto at = output_.find(marker);
  const auto colon = output_.find(':', at + marker.size());
  port_ = static_cast<unsigned short>(std::stoi(output_.substr(colon + 1)));
}

demo_process::~demo_process() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_ >= 0)
    ::close(out_);
}

void demo_process::signal(int signal_number) {
  ::kill(pid_, signal_number);
}

bool demo_process::read_some(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0)
    return false;
  pollfd p{out_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
    return false;
  char data[4096];
  const ssize_t n = ::read(out_, data, sizeof(data));
  if (n <= 0)
    return false;
  output_.append(data, static_cast<std::size_t>(n));
  return true;
}

bool demo_process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto at = output_.find(text, scanned_);
    if (at != std::string::npos) {
      scanned_ = at + text.size();
      return true;
    }
    if (!read_some(deadline))
      return false;
  }
}

std::optional<int> demo_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_)
    return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (read_some(deadline)) {
  }
  if (std::chrono::steady_clock::now() >= deadline)
    return std::nullopt;
  // End of output: the child has exited (or closed its output, which it never does).
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

}  // namespace lifetime::demo::test
