// SPDX-License-Identifier: MIT
#include <lifetime/http/server_service.hpp>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/systemd/listen_fds.hpp>
#include <lifetime/host/systemd/notifier.hpp>

namespace lifetime::http {
namespace asio = boost::asio;

namespace {
// How long stop() waits for observers to end their responses before closing every connection.
constexpr auto observers_grace = std::chrono::milliseconds(250);
}  // namespace

server_service::server_service(lifetime::host::host& host, router routes,
                               server::config_loader load_config,
                               std::function<void(server&)> setup, std::string name)
    : host_(host),
      routes_(std::move(routes)),
      load_config_(std::move(load_config)),
      setup_(std::move(setup)),
      name_(std::move(name)) {}

asio::awaitable<void> server_service::start(cancellation_token token) {
  token.throw_if_cancellation_requested();
  server_environment env;
  env.stopping = host_.lifetime().stopping();
  env.stop_accepting = host_.stop_accepting_token();
  env.cancel_in_flight = host_.in_flight_token();
  env.in_flight = &host_.in_flight();
  env.state = [lifetime = &host_.lifetime()] { return std::string(to_string(lifetime->state())); };
  env.events = &host_.events();
  env.connection_threads = host_.connection_executors();
  server_ = server::create(host_.get_executor(), std::move(env), routes_, load_config_);
  server_->set_restart_handler([host = &host_] { host->request_reload(); });
  server_->stats().add_collector([host = &host_](std::string& out) {
    metrics::scalar(out, "lifetime_upgrades_failed_total", "counter",
                    "Binary upgrades (SIGUSR1) whose new process failed or was not ready in time.",
                    static_cast<std::int64_t>(host->upgrades().failed));
  });
  if (setup_)
    setup_(*server_);

  std::vector<adopted_listener> adopted;
  auto fds = host_.take_listen_fds();
  for (const auto& fd : fds) {
    if (fd.name == name_)
      adopted.push_back({fd.fd, fd.name});
  }
  if (adopted.empty()) {
    for (const auto& fd : fds)
      adopted.push_back({fd.fd, fd.name});
  }
  server_->start(adopted);
  if (adopted.empty() && host_.notifier().enabled()) {
    for (const int fd : server_->listener_fds())
      host_.notifier().store_fd(fd, name_);
  }
  for (const auto& endpoint : server_->local_endpoints()) {
    const auto address = endpoint.address();
    std::string shown = address.is_unspecified() ? std::string("127.0.0.1")
                        : address.is_v6()        ? "[" + address.to_string() + "]"
                                                 : address.to_string();
    spdlog::info("serving http://{}:{}/", shown, endpoint.port());
  }
  co_return;
}

asio::awaitable<void> server_service::reload() {
  if (!server_)
    co_return;
  const auto report = server_->restart();
  if (report.listen_changed) {
    host_.set_status_note(fmt::format("--listen {} needs a new process (restart or SIGUSR1)",
                                      fmt::join(report.listen_wanted, ",")));
  }
  co_return;
}

std::vector<lifetime::host::systemd::listen_fd> server_service::sockets_to_hand_over() const {
  std::vector<lifetime::host::systemd::listen_fd> out;
  if (server_) {
    for (const int fd : server_->listener_fds())
      out.push_back({fd, name_});
  }
  return out;
}

asio::awaitable<void> server_service::stop(cancellation_token token) {
  if (!server_)
    co_return;
  server_->stop_accepting();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // Observers (a lifecycle stream) are told the connections are about to close and get a moment
  // to send what they still have and end their responses cleanly.
  server_->end_observers();
  const auto observers_deadline = std::chrono::steady_clock::now() + observers_grace;
  while (server_->observer_count() > 0 && !token.is_cancellation_requested() &&
         std::chrono::steady_clock::now() < observers_deadline) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(bind_cancellation(token, asio::as_tuple(asio::use_awaitable)));
  }
  server_->close_connections();
  // The hook runs on the host's own thread: polling every millisecond costs nothing there and
  // ends the stop soon after the last connection is gone.
  while (server_->connection_count() > 0 && !token.is_cancellation_requested()) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(bind_cancellation(token, asio::as_tuple(asio::use_awaitable)));
  }
  if (const auto left = server_->connection_count(); left > 0) {
    spdlog::warn("{} connection(s) still closing at the end of stop(); the exit closes them", left);
  }
}

}  // namespace lifetime::http
