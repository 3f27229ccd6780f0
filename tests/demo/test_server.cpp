// SPDX-License-Identifier: MIT
#include "test_server.hpp"

#include <mutex>
#include <random>

#include <spdlog/spdlog.h>

#include "random_id.hpp"

namespace lifetime::demo::test {

temp_dir::temp_dir()
    : path(std::filesystem::temp_directory_path() / ("lifetime-demo-test-" + random_id())) {
  std::filesystem::create_directories(path);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

test_server::test_server(demo_config config, unsigned threads) : work_(io_.get_executor()) {
  spdlog::set_level(spdlog::level::warn);
  config.listen = {"127.0.0.1:0"};
  if (config.storage_dir == demo_config{}.storage_dir)
    config.storage_dir = storage_.path.string();
  next_config_ = std::make_shared<demo_config>(config);
  http::server_environment env;
  env.stopping = stopping.token();
  env.stop_accepting = stop_accepting.token();
  env.cancel_in_flight = cancel_in_flight.token();
  env.in_flight = &in_flight;
  application::prepare(config);
  host_ = http::server::create(io_.get_executor(), env, app_.routes(),
                               [mutex = config_mutex_, next = next_config_] {
                                 std::lock_guard lock(*mutex);
                                 return std::make_shared<const demo_config>(*next);
                               });
  app_.setup(*host_);
  host_->start();
  port_ = host_->local_endpoints().at(0).port();
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this] { io_.run(); });
}

void test_server::set_next_config(demo_config config) {
  std::lock_guard lock(*config_mutex_);
  if (config.listen == demo_config{}.listen)  // not chosen by the test: keep serving where it does
    config.listen = next_config_->listen;
  *next_config_ = std::move(config);
}

test_server::~test_server() {
  cancel_in_flight.cancel(cancellation_reason::application_stopping);
  stop_accepting.cancel(cancellation_reason::application_stopping);
  host_->close_connections();
  // Connections unregister as their coroutines end; give them a moment, then stop regardless.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (host_->connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    t.join();
  host_.reset();
}

}  // namespace lifetime::demo::test
