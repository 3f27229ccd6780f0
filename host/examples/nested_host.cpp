// SPDX-License-Identifier: MIT
// Nesting: an inner host runs as a service of an outer (owning) host, and a third host is linked
// to the outer host's lifetime. Both stop when the outer one does and finish before it reports
// stopped.
//
//   lifetime_example_nested_host          (Ctrl-C to stop all three)
#include <spdlog/spdlog.h>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/host.hpp>
#include <lifetime/host/nested_host.hpp>
#include <lifetime/host/options.hpp>

namespace asio = boost::asio;

class waiter : public lifetime::host::background_service {
 public:
  explicit waiter(std::string name) : name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  asio::awaitable<void> run(lifetime::cancellation_token token) override {
    spdlog::info("{}: running", name_);
    const auto executor = co_await asio::this_coro::executor;
    co_await lifetime::async_wait_cancelled(token, executor, asio::use_awaitable);
    spdlog::info("{}: stopping", name_);
  }

 private:
  std::string name_;
};

int main(int argc, char* argv[]) {
  lifetime::host::options options("lifetime_example_nested_host");
  if (auto code = options.parse(argc, argv))
    return *code;
  lifetime::host::host outer(options.to_host_options());
  outer.add_service<waiter>("outer-worker");

  // 1. A host as a service of the outer host: started and stopped by it.
  lifetime::host::host_options inner_options;
  inner_options.name = "inner";
  inner_options.shutdown_timeout = outer.options().shutdown_timeout / 2;
  auto& inner = outer.add_service<lifetime::host::nested_host>(outer, inner_options);
  inner.inner().add_service<waiter>("inner-worker");

  // 2. A host linked to the outer host's lifetime: it holds the outer stop open with a lease.
  lifetime::host::host_options sibling_options;
  sibling_options.name = "sibling";
  sibling_options.shutdown_timeout = outer.options().shutdown_timeout / 2;
  lifetime::host::host sibling(outer.io_context(), sibling_options);
  sibling.add_service<waiter>("sibling-worker");
  sibling.link_parent(outer.lifetime());
  sibling.start([](int code) { spdlog::info("sibling exited with code {}", code); });

  auto stopped = outer.lifetime().stopped().register_callback(
      [] { spdlog::info("outer: stopped (the inner hosts finished first)"); });
  return outer.run();
}
