// SPDX-License-Identifier: MIT
// An in-process lifetime-demo server on 127.0.0.1:<ephemeral port>, run by two io threads, with
// the shutdown phases as sources the test cancels by hand (stopping, stop_accepting,
// cancel_in_flight) and the in-flight gate the host would drain.
#pragma once

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>

#include <lifetime/http/server.hpp>

#include "application.hpp"
#include "demo_config.hpp"

namespace lifetime::demo::test {

/// A fresh, empty folder under the system temp folder, removed with the object.
struct temp_dir {
  temp_dir();
  ~temp_dir();
  std::filesystem::path path;
};

class test_server {
 public:
  /// Starts serving `config` (its listen address is replaced by 127.0.0.1:0; its storage folder
  /// by a fresh temp folder unless set).
  explicit test_server(demo_config config = {}, unsigned threads = 2);
  ~test_server();

  unsigned short port() const { return port_; }
  http::server& host() { return *host_; }
  application& app() { return app_; }
  /// The io_context the host runs on (a test may post work that holds its threads).
  boost::asio::io_context& io() { return io_; }
  const std::filesystem::path& storage() const { return storage_.path; }
  /// Replaces the configuration the next restart loads (its listen address too, if the test set
  /// one other than the default).
  void set_next_config(demo_config config);

  lifetime::cancellation_source stopping;
  lifetime::cancellation_source stop_accepting;
  lifetime::cancellation_source cancel_in_flight;
  lifetime::gate in_flight;

 private:
  temp_dir storage_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<std::mutex> config_mutex_ = std::make_shared<std::mutex>();
  std::shared_ptr<demo_config> next_config_;
  application app_;
  std::shared_ptr<http::server> host_;
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
};

}  // namespace lifetime::demo::test
