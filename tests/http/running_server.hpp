// SPDX-License-Identifier: MIT
// A lifetime::http::server with an application's own routes on 127.0.0.1:<ephemeral>, run by two
// threads, its phases (stopping, stop accepting, cancel in flight) driven by the test by hand.
// With `connection_threads` > 0 its connections run on that many io_contexts of one thread each
// (server_environment::connection_threads, as under an owning host), else on strands.
// Constructed and destroyed on the test thread; the destructor stops the server and waits (at
// most 5 s) for its connections to close. Throws what server::create() and start() throw.
#pragma once

#include <lifetime/http/server.hpp>

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <lifetime/http/request_context.hpp>

#include "support/eventually.hpp"

namespace lifetime::http::test {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

class running_server {
 public:
  explicit running_server(router routes, unsigned connection_threads = 0)
      : work_(io_.get_executor()) {
    server_environment env;
    for (unsigned i = 0; i < connection_threads; ++i) {
      auto& context = thread_io_.emplace_back(std::make_unique<boost::asio::io_context>(1));
      thread_work_.emplace_back(context->get_executor());
      env.connection_threads.emplace_back(context->get_executor());
    }
    env.stopping = stopping.token();
    env.stop_accepting = stop_accepting.token();
    env.cancel_in_flight = cancel_in_flight.token();
    env.in_flight = &in_flight;
    server_ = server::create(io_.get_executor(), env, std::move(routes), [] {
      auto config = std::make_shared<server_config>();
      config->listen = {"127.0.0.1:0"};
      config->websocket_close_timeout = 500ms;
      return std::shared_ptr<const server_config>(std::move(config));
    });
    server_->start();
    port_ = server_->local_endpoints().at(0).port();
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
    for (auto& context : thread_io_)
      threads_.emplace_back([&context = *context] { context.run(); });
  }
  ~running_server() {
    cancel_in_flight.cancel(cancellation_reason::application_stopping);
    stop_accepting.cancel(cancellation_reason::application_stopping);
    server_->close_connections();
    (void)lifetime::test::eventually([&] { return server_->connection_count() == 0; });
    work_.reset();
    io_.stop();
    thread_work_.clear();
    for (auto& context : thread_io_)
      context->stop();
    for (auto& t : threads_)
      t.join();
  }
  unsigned short port() const { return port_; }
  http::server& web() { return *server_; }

  cancellation_source stopping, stop_accepting, cancel_in_flight;
  lifetime::gate in_flight;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::unique_ptr<boost::asio::io_context>> thread_io_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      thread_work_;
  std::shared_ptr<server> server_;
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
};

/// A handler that answers 200 "ok\n".
inline boost::asio::awaitable<void> ok(request_context& ctx) {
  co_await ctx.send(ctx.make_response(bhttp::status::ok, "ok\n", "text/plain"));
}

}  // namespace lifetime::http::test
