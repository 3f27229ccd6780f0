// SPDX-License-Identifier: MIT
#include "demo_process.hpp"

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

std::vector<std::string> demo_argv(std::vector<std::string> args) {
  args.insert(args.begin(), LIFETIME_DEMO_BINARY);
  return args;
}

lifetime::test::spawn_options options_for(int listen_fd, std::string notify_socket) {
  lifetime::test::spawn_options options;
  if (listen_fd >= 0) {
    options.listen_fds = {listen_fd};
    options.set_listen_pid = true;
    options.env = {"LISTEN_FDS=1", "LISTEN_FDNAMES=http"};
  }
  if (!notify_socket.empty())
    options.env.push_back("NOTIFY_SOCKET=" + notify_socket);
  return options;
}

}  // namespace

demo_process::demo_process(std::vector<std::string> args, int listen_fd, std::string notify_socket)
    : demo_process(demo_argv(with_listen(std::move(args), listen_fd)),
                   options_for(listen_fd, std::move(notify_socket)), true) {}

demo_process::demo_process(std::vector<std::string> args, no_wait_t)
    : demo_process(demo_argv(std::move(args)), {}, false) {}

demo_process::demo_process(const std::string& binary, std::vector<std::string> args,
                           std::vector<std::string> env)
    : demo_process(
          [&] {
            auto argv = with_listen(std::move(args), -1);
            argv.insert(argv.begin(), binary);
            return argv;
          }(),
          [&] {
            lifetime::test::spawn_options options;
            options.env = std::move(env);
            return options;
          }(),
          true) {}

demo_process::demo_process(std::string shell_prefix, std::vector<std::string> args)
    : demo_process(
          [&] {
            auto argv = demo_argv(with_listen(std::move(args), -1));
            argv.insert(argv.begin(), {"/bin/sh", "-c", shell_prefix});
            return argv;
          }(),
          {}, true) {}

demo_process::demo_process(std::vector<std::string> argv, lifetime::test::spawn_options options,
                           bool wait_serving)
    : child_(argv, std::move(options)) {
  if (!wait_serving)
    return;
  const std::string marker = "serving http://";
  const auto line = child_.wait_for_line(marker, std::chrono::seconds(10));
  if (!line)
    throw std::runtime_error("lifetime-demo did not start: " + child_.output());
  const auto at = line->find(marker);
  const auto colon = line->find(':', at + marker.size());
  port_ = static_cast<unsigned short>(std::stoi(line->substr(colon + 1)));
  // The server serves before the host has started: a signal sent in between (SIGUSR1) would be
  // refused as "not started yet". Its "started in" line is not consumed: tests may wait for it.
  (void)child_.wait_for_output("started in", std::chrono::seconds(10));
}

}  // namespace lifetime::demo::test
