// SPDX-License-Identifier: MIT
#include "http/web_host.hpp"

#include <sys/socket.h>

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/connection.hpp"
#include "uploads.hpp"

namespace lifetime::demo {
namespace asio = boost::asio;
using asio::ip::tcp;

struct web_host::listener {
  explicit listener(asio::any_io_executor strand) : acceptor(strand) {}
  tcp::acceptor acceptor;
  tcp::endpoint local;
  int fd = -1;
};

tcp::endpoint parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("bad --listen value: " + text);
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535)
      throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::invalid_argument("bad port in --listen value: " + text);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::address address = asio::ip::address_v6::any();
  if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else if (!host.empty() && host != "*") {
    boost::system::error_code ec;
    address = asio::ip::make_address(host, ec);
    if (ec)
      throw std::invalid_argument("bad address in --listen value: " + text);
  }
  return {address, static_cast<unsigned short>(port)};
}

std::shared_ptr<web_host> web_host::create(asio::any_io_executor executor,
                                           server_environment environment, config_loader load) {
  return std::shared_ptr<web_host>(
      new web_host(std::move(executor), std::move(environment), std::move(load)));
}

web_host::web_host(asio::any_io_executor executor, server_environment environment,
                   config_loader load)
    : executor_(std::move(executor)),
      environment_(std::move(environment)),
      load_(std::move(load)),
      router_(make_demo_router()),
      config_(std::make_shared<const server_config>(load_ ? load_() : server_config{})) {}

web_host::~web_host() {
  stop_registration_.reset();
  generation_.cancel(cancellation_reason::application_stopping);
}

void web_host::start(std::vector<adopted_listener> adopted) {
  const auto config = this->config();
  std::filesystem::create_directories(config->storage_dir);
  if (const auto n = remove_leftovers(config->storage_dir); n > 0) {
    spdlog::info("removed {} unfinished upload(s) from {}", n, config->storage_dir);
  }
  std::vector<std::shared_ptr<listener>> opened;
  if (!adopted.empty()) {
    for (const auto& a : adopted) {
      auto l = std::make_shared<listener>(asio::make_strand(executor_));
      sockaddr_storage storage{};
      socklen_t length = sizeof(storage);
      if (::getsockname(a.fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
        throw std::system_error(errno, std::generic_category(), "getsockname");
      }
      l->acceptor.assign(storage.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), a.fd);
      l->local = l->acceptor.local_endpoint();
      l->fd = a.fd;
      spdlog::info("listening on {}:{} (socket \"{}\" from systemd)",
                   l->local.address().to_string(), l->local.port(), a.name);
      opened.push_back(std::move(l));
    }
  } else {
    for (const auto& text : config->listen) {
      const auto endpoint = parse_listen_address(text);
      auto l = std::make_shared<listener>(asio::make_strand(executor_));
      l->acceptor.open(endpoint.protocol());
      l->acceptor.set_option(tcp::acceptor::reuse_address(true));
      if (endpoint.address().is_v6())
        l->acceptor.set_option(asio::ip::v6_only(false));
      l->acceptor.bind(endpoint);
      l->acceptor.listen(asio::socket_base::max_listen_connections);
      l->local = l->acceptor.local_endpoint();
      l->fd = l->acceptor.native_handle();
      spdlog::info("listening on {}:{}", l->local.address().to_string(), l->local.port());
      opened.push_back(std::move(l));
    }
  }
  {
    std::lock_guard lock(mutex_);
    listeners_ = opened;
  }
  started_ = true;
  for (auto& l : opened)
    accept_on(l);
  stop_registration_.emplace(environment_.stop_accepting, stop_callback{this});
}

void web_host::accept_on(const std::shared_ptr<listener>& l) {
  asio::co_spawn(
      l->acceptor.get_executor(),
      [self = shared_from_this(), l]() -> asio::awaitable<void> {
        asio::steady_timer backoff(l->acceptor.get_executor());
        for (;;) {
          auto [ec, socket] = co_await l->acceptor.async_accept(
              connection::make_executor(self->executor_), asio::as_tuple(asio::use_awaitable));
          if (ec == asio::error::operation_aborted || !l->acceptor.is_open())
            break;
          if (ec) {
            // EMFILE and friends: wait a little rather than spin.
            spdlog::warn("accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
          }
          socket.set_option(tcp::no_delay(true), ec);
          auto c = std::make_shared<connection>(std::move(socket), self);
          if (self->environment_.stop_accepting.is_cancellation_requested())
            c->start_last_request(self->stop_admission());
          else
            c->start();
        }
      },
      asio::detached);
}

bool web_host::restart() {
  bool loaded = true;
  std::shared_ptr<const server_config> fresh;
  try {
    fresh = std::make_shared<const server_config>(load_ ? load_() : *config());
  } catch (const std::exception& e) {
    spdlog::error("restart: configuration not reloaded: {}", e.what());
    loaded = false;
  }
  cancellation_source old;
  {
    std::lock_guard lock(mutex_);
    if (fresh) {
      if (fresh->listen != config_->listen) {
        spdlog::warn(
            "restart: --listen changed; listening sockets are kept until the process "
            "restarts");
      }
      config_ = fresh;
    }
    old = std::exchange(generation_, cancellation_source());
  }
  old.cancel(cancellation_reason::restart);
  metrics_.restarts_total.fetch_add(1, std::memory_order_relaxed);
  const auto config = this->config();
  std::error_code ec;
  std::filesystem::create_directories(config->storage_dir, ec);
  remove_leftovers(config->storage_dir);
  spdlog::info("web host restarted (generation {})", metrics_.restarts_total.load());
  return loaded;
}

void web_host::request_restart() {
  std::function<void()> handler;
  {
    std::lock_guard lock(mutex_);
    handler = restart_handler_;
  }
  if (handler) {
    handler();
  } else {
    asio::post(executor_, [self = shared_from_this()] { self->restart(); });
  }
}

void web_host::set_restart_handler(std::function<void()> handler) {
  std::lock_guard lock(mutex_);
  restart_handler_ = std::move(handler);
}

void web_host::stop_accepting() {
  if (accepting_stopped_.load())
    return;
  // Taken before the host closes the gate (stop_accepting fires first); every posted close and
  // the accept-queue sweep below keep it alive, and the last of them drops it.
  std::shared_ptr<const lifetime::gate::holder> admission;
  if (environment_.in_flight != nullptr) {
    if (auto hold = environment_.in_flight->try_enter())
      admission = std::make_shared<const lifetime::gate::holder>(std::move(*hold));
  }
  std::vector<std::shared_ptr<listener>> listeners;
  std::vector<std::shared_ptr<connection>> connections;
  {
    std::lock_guard lock(mutex_);
    if (accepting_stopped_.exchange(true))
      return;
    stop_admission_ = admission;
    listeners = listeners_;
    for (auto& [ptr, weak] : connections_) {
      if (auto c = weak.lock())
        connections.push_back(std::move(c));
    }
  }
  for (auto& l : listeners) {
    asio::post(l->acceptor.get_executor(), [self = shared_from_this(), l, admission] {
      // Connections already in the kernel's accept queue would be reset by the close: take them
      // without blocking and answer their request (Connection: close) first.
      boost::system::error_code ec;
      l->acceptor.non_blocking(true, ec);
      while (!ec && l->acceptor.is_open()) {
        tcp::socket socket(connection::make_executor(self->executor_));
        l->acceptor.accept(socket, ec);
        if (ec == asio::error::connection_aborted) {
          ec.clear();
          continue;
        }
        if (ec)
          break;
        socket.set_option(tcp::no_delay(true), ec);
        ec.clear();
        std::make_shared<connection>(std::move(socket), self)->start_last_request(admission);
      }
      boost::system::error_code ignored;
      l->acceptor.close(ignored);
    });
  }
  for (auto& c : connections)
    c->close_if_idle(admission);
  spdlog::info("stopped accepting; closing {} idle or finishing connection(s)", connections.size());
}

std::shared_ptr<const lifetime::gate::holder> web_host::stop_admission() const {
  std::lock_guard lock(mutex_);
  return stop_admission_.lock();
}

void web_host::close_connections() {
  std::vector<std::shared_ptr<connection>> connections;
  {
    std::lock_guard lock(mutex_);
    for (auto& [ptr, weak] : connections_) {
      if (auto c = weak.lock())
        connections.push_back(std::move(c));
    }
  }
  for (auto& c : connections)
    c->close();
}

std::size_t web_host::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

std::vector<tcp::endpoint> web_host::local_endpoints() const {
  std::lock_guard lock(mutex_);
  std::vector<tcp::endpoint> out;
  for (const auto& l : listeners_)
    out.push_back(l->local);
  return out;
}

std::vector<int> web_host::listener_fds() const {
  std::lock_guard lock(mutex_);
  std::vector<int> out;
  for (const auto& l : listeners_)
    out.push_back(l->fd);
  return out;
}

std::shared_ptr<const server_config> web_host::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

cancellation_token web_host::generation() const {
  std::lock_guard lock(mutex_);
  return generation_.token();
}

bool web_host::ready() const noexcept {
  return started_ && !environment_.stopping.is_cancellation_requested() &&
         !accepting_stopped_.load();
}

std::string web_host::lifetime_state() const {
  if (environment_.state)
    return environment_.state();
  if (environment_.stopping.is_cancellation_requested())
    return "stopping";
  return started_ ? "started" : "starting";
}

void web_host::add_connection(const std::shared_ptr<connection>& c) {
  std::lock_guard lock(mutex_);
  connections_.emplace(c.get(), c);
  if (accepting_stopped_)
    c->close_if_idle(stop_admission_.lock());
}

void web_host::remove_connection(const connection* c) noexcept {
  std::lock_guard lock(mutex_);
  connections_.erase(c);
}

}  // namespace lifetime::demo
