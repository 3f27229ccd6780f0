// SPDX-License-Identifier: MIT
// The fd store across a restart, with this test as the service manager: it passes a listening
// socket to a first process through LISTEN_FDS, receives it back from FDSTORE=1 over
// NOTIFY_SOCKET (SCM_RIGHTS), stops the process, and hands the stored socket to a second one.
// The listening socket stays open in the store in between, so the kernel queues connections and
// none is refused.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "lifetime/host/systemd/listen_fds.hpp"
#include "test_support.hpp"

using namespace lifetime::test::systemd;

namespace {

struct stored_fd {
  unique_fd fd;
  std::string name;
};

// Starts activated_echo --serve --store on `fd` named `name`, reporting to `receiver`.
child_process start_service(int fd, const std::string& name, const notify_receiver& receiver) {
  spawn_options options;
  options.inherit_environment = false;
  const std::vector<std::string> argv = {LIFETIME_ACTIVATED_ECHO, "--serve", "--store"};
  options.listen_fds = {fd};
  options.set_listen_pid = true;
  options.env = {"LISTEN_FDS=1", "LISTEN_FDNAMES=" + name, "NOTIFY_SOCKET=" + receiver.address()};
  return child_process(argv, std::move(options));
}

// Receives the service's FDSTORE=1 message and then READY=1, as a manager would.
stored_fd expect_store_then_ready(notify_receiver& receiver) {
  auto store = receiver.receive(10s);
  REQUIRE(store);
  REQUIRE(store->text.rfind("FDSTORE=1\nFDNAME=", 0) == 0);
  REQUIRE(store->fds.size() == 1);
  stored_fd result{std::move(store->fds[0]), store->text.substr(std::strlen("FDSTORE=1\nFDNAME="))};
  auto ready = receiver.receive(10s);
  REQUIRE(ready);
  CHECK(ready->text == "READY=1");
  return result;
}

void stop_service(child_process& service, notify_receiver& receiver) {
  service.signal(SIGTERM);
  auto stopping = receiver.receive(10s);
  REQUIRE(stopping);
  CHECK(stopping->text == "STOPPING=1");
  CHECK(service.wait_for_exit_code() == 0);
}

std::string pid_in(const std::string& reply) {
  const auto at = reply.find(" pid=");
  if (at == std::string::npos)
    return {};
  return reply.substr(at + 5, reply.find('\n', at) - at - 5);
}

}  // namespace

TEST_CASE("a stored listening socket keeps connections made while no process serves it",
          "[systemd][fdstore]") {
  temp_dir dir;
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  auto listener = tcp_listener::open();
  const auto port = listener.port;

  auto first = start_service(listener.fd.get(), "http", receiver);
  auto stored = expect_store_then_ready(receiver);
  CHECK(stored.name == "http");
  listener.fd.reset();  // from now on only the store and the service hold the socket

  std::error_code ec;
  auto before = connect_tcp(port, ec);
  REQUIRE_FALSE(ec);
  const auto first_reply = read_all(before.get(), clock::now() + 10s);
  CHECK(pid_in(first_reply) == std::to_string(first.pid()));

  stop_service(first, receiver);

  // Nobody accepts now; the store still holds the listening socket.
  std::vector<unique_fd> waiting;
  for (int i = 0; i < 5; ++i) {
    waiting.push_back(connect_tcp(port, ec));
    CHECK_FALSE(ec);
  }

  auto second = start_service(stored.fd.get(), stored.name, receiver);
  auto restored = expect_store_then_ready(receiver);
  CHECK(restored.name == "http");
  for (auto& connection : waiting) {
    const auto reply = read_all(connection.get(), clock::now() + 10s);
    CHECK(reply ==
          "name=http fd=3 cloexec=1 listen_env=unset pid=" + std::to_string(second.pid()) + "\n");
  }
  stop_service(second, receiver);
}

TEST_CASE("a client connecting continuously across a restart through the fd store is never refused",
          "[systemd][fdstore][threads]") {
  temp_dir dir;
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  auto listener = tcp_listener::open();
  const auto port = listener.port;

  auto first = start_service(listener.fd.get(), "http", receiver);
  auto stored = expect_store_then_ready(receiver);
  listener.fd.reset();

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> served_by;  // pid → replies
  std::vector<std::string> failures;
  bool stop = false;
  std::thread client([&] {
    while (true) {
      {
        std::lock_guard lock(mutex);
        if (stop)
          return;
      }
      std::error_code ec;
      auto connection = connect_tcp(port, ec);
      std::string failure;
      std::string pid;
      if (ec) {
        failure = "connect: " + ec.message();
      } else {
        const auto reply = read_all(connection.get(), clock::now() + 10s);
        pid = pid_in(reply);
        if (pid.empty())
          failure = "reply: \"" + reply + "\"";
      }
      {
        std::lock_guard lock(mutex);
        if (failure.empty()) {
          ++served_by[pid];
        } else {
          failures.push_back(failure);
        }
      }
      changed.notify_all();
    }
  });
  auto wait_for_replies_from = [&](pid_t pid, int count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(
        lock, 20s, [&] { return served_by[std::to_string(pid)] >= count || failures.size() > 0; });
  };

  CHECK(wait_for_replies_from(first.pid(), 20));
  const auto first_pid = first.pid();
  stop_service(first, receiver);
  auto second = start_service(stored.fd.get(), stored.name, receiver);
  auto restored = expect_store_then_ready(receiver);
  const auto second_pid = second.pid();
  CHECK(wait_for_replies_from(second_pid, 20));
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  client.join();
  stop_service(second, receiver);

  std::string all_failures;
  for (const auto& failure : failures)
    all_failures += failure + "\n";
  INFO(all_failures);
  CHECK(failures.empty());
  CHECK(served_by[std::to_string(first_pid)] >= 20);
  CHECK(served_by[std::to_string(second_pid)] >= 20);
}
