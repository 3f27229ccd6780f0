// SPDX-License-Identifier: MIT
// Where the time goes between a client closing its socket and
// http_requests_aborted_total{reason="client_disconnected"} moving, hop by hop, inside one
// process: a lifetime::http::server on one I/O thread (an io_context run by one thread, its
// connections on it without a strand, the way server_service runs each of its I/O threads) with
// a handler waiting in ctx.sleep_for(30s).
//
//   kernel        close() → a thread blocked in epoll_wait() on the accepted end wakes (a plain
//                 TCP pair with nothing else on it: the floor any server pays, same run)
//   watch         close() → the request's token is cancelled (the disconnect watch's read
//                 completed on the I/O thread and cancelled it; a callback on ctx.token() fires)
//   wake-up       token cancelled → the handler resumes from sleep_for() with operation_cancelled
//   counter       handler resumed → the counter moved (the exception leaves the handler, the
//                 request's outcome is classified and counted)
//   total         close() → the counter moved (seen by this thread spinning on it)
//
//     lifetime_disconnect_bench [rounds=200]
//
// Prints median and 90th percentile in microseconds for FIN (close()) and RST (SO_LINGER 0).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <lifetime/http/request_context.hpp>
#include <lifetime/http/server.hpp>
#include <lifetime/operation_cancelled.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace asio = boost::asio;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

// Times the handler records, in now_ns(); 0 until set.
struct handler_times {
  std::atomic<std::int64_t> started{0}, cancelled{0}, resumed{0};
  void reset() {
    started = 0;
    cancelled = 0;
    resumed = 0;
  }
};

int connect_to(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// close() with FIN, or with RST (SO_LINGER 0); returns the time just before it.
std::int64_t close_as(int fd, bool reset) {
  if (reset) {
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  const auto t = now_ns();
  ::close(fd);
  return t;
}

template <class Predicate>
void spin_until(Predicate ready, const char* what) {
  const auto deadline = clock_type::now() + 5s;
  while (!ready()) {
    if (clock_type::now() > deadline)
      throw std::runtime_error(std::string("timed out waiting for ") + what);
  }
}

// The floor: close() → epoll_wait() returns on the accepted end of a fresh loopback pair.
std::int64_t kernel_round(bool reset) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  const int client = connect_to(ntohs(addr.sin_port));
  const int accepted = ::accept(listener, nullptr, nullptr);
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, accepted, &ev);
  std::atomic<bool> waiting{false};
  std::atomic<std::int64_t> woke{0};
  std::thread waiter([&] {
    epoll_event out{};
    waiting = true;
    while (::epoll_wait(ep, &out, 1, 5000) == 0) {
    }
    woke = now_ns();
  });
  spin_until([&] { return waiting.load(); }, "the epoll thread");
  std::this_thread::yield();
  const auto closed = close_as(client, reset);
  waiter.join();
  ::close(ep);
  ::close(accepted);
  ::close(listener);
  return woke - closed;
}

struct round_times {
  std::int64_t kernel, watch, wake, counter, total;
};

class hop_bench {
 public:
  hop_bench() : work_(io_.get_executor()) {
    lifetime::http::router routes;
    routes.add(boost::beast::http::verb::get, "/work",
               [this](lifetime::http::request_context& ctx) -> asio::awaitable<void> {
                 times_.started = now_ns();
                 auto registration = ctx.token().register_callback(
                     [this](lifetime::cancellation_reason) { times_.cancelled = now_ns(); });
                 try {
                   co_await ctx.sleep_for(30s);
                 } catch (const lifetime::operation_cancelled&) {
                   times_.resumed = now_ns();
                   throw;
                 }
               });
    lifetime::http::server_environment env;
    env.stopping = stopping_.token();
    env.stop_accepting = stop_accepting_.token();
    env.cancel_in_flight = cancel_in_flight_.token();
    env.connection_threads = {io_.get_executor()};  // as server_service does
    server_ = lifetime::http::server::create(io_.get_executor(), env, std::move(routes), [] {
      auto config = std::make_shared<lifetime::http::server_config>();
      config->listen = {"127.0.0.1:0"};
      return std::shared_ptr<const lifetime::http::server_config>(std::move(config));
    });
    server_->start();
    port_ = server_->local_endpoints().at(0).port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~hop_bench() {
    stop_accepting_.cancel(lifetime::cancellation_reason::application_stopping);
    cancel_in_flight_.cancel(lifetime::cancellation_reason::application_stopping);
    server_->close_connections();
    spin_until([&] { return server_->connection_count() == 0; }, "the connections to close");
    work_.reset();
    io_.stop();
    thread_.join();
  }

  round_times run(bool reset) {
    const auto kernel = kernel_round(reset);
    times_.reset();
    const auto aborted_before = aborted();
    const int client = connect_to(port_);
    const std::string request = "GET /work HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (::send(client, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size()))
      throw std::runtime_error("send failed");
    spin_until([&] { return times_.started.load() != 0; }, "the handler to start");
    settle();  // the handler has suspended in sleep_for with the watch armed
    const auto closed = close_as(client, reset);
    spin_until([&] { return aborted() > aborted_before; }, "the counter to move");
    const auto counted = now_ns();
    return {kernel, times_.cancelled - closed, times_.resumed - times_.cancelled,
            counted - times_.resumed, counted - closed};
  }

 private:
  std::uint64_t aborted() const {
    return server_->stats().aborted(lifetime::cancellation_reason::client_disconnected);
  }
  // Everything queued on the one I/O thread before this call has run.
  void settle() {
    std::promise<void> done;
    auto future = done.get_future();
    asio::post(io_, [&] { done.set_value(); });
    future.wait();
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  lifetime::cancellation_source stopping_, stop_accepting_, cancel_in_flight_;
  handler_times times_;
  std::shared_ptr<lifetime::http::server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

struct percentiles {
  double median, p90;
};

percentiles of(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2] / 1000.0, v[v.size() * 9 / 10] / 1000.0};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(10, std::atoi(argv[1])) : 200;
  spdlog::set_level(spdlog::level::warn);  // no access log lines between the rows
  try {
    hop_bench bench;
    std::printf(
        "close → http_requests_aborted_total{reason=\"client_disconnected\"} moves, %d "
        "rounds each, microseconds (median / p90)\n\n",
        rounds);
    std::printf(
        "| hop | FIN median | FIN p90 | RST median | RST p90 |\n|---|---:|---:|---:|---:|\n");
    std::vector<round_times> fin, rst;
    for (int i = 0; i < rounds; ++i) {
      fin.push_back(bench.run(false));
      rst.push_back(bench.run(true));
    }
    const auto row = [&](const char* name, std::int64_t round_times::*hop) {
      std::vector<std::int64_t> a, b;
      for (const auto& r : fin)
        a.push_back(r.*hop);
      for (const auto& r : rst)
        b.push_back(r.*hop);
      const auto f = of(a), s = of(b);
      std::printf("| %s | %.1f | %.1f | %.1f | %.1f |\n", name, f.median, f.p90, s.median, s.p90);
    };
    row("kernel: close → epoll_wait wakes (plain socket, the floor)", &round_times::kernel);
    row("watch: close → request token cancelled", &round_times::watch);
    row("wake-up: token cancelled → handler resumes", &round_times::wake);
    row("counter: handler resumes → counter moved", &round_times::counter);
    row("total: close → counter moved", &round_times::total);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lifetime_disconnect_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
