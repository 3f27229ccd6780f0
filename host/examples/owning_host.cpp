// SPDX-License-Identifier: MIT
// Owning mode: the host owns the io_context, its threads, the signals and the log.
//
//   lifetime_example_owning_host --shutdown-timeout 10s --tick 500ms
//   (Ctrl-C once: graceful stop; twice: fast stop; three times: immediate exit 130)
#include <chrono>

#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>

namespace asio = boost::asio;

/// Ticks until the host stops; each tick is cancelled as soon as the token fires.
class ticker : public lifetime::host::background_service {
 public:
  explicit ticker(std::chrono::milliseconds period) : period_(period) {}
  std::string_view name() const noexcept override { return "ticker"; }

  asio::awaitable<void> run(lifetime::cancellation_token token) override {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    for (int n = 1; !token.is_cancellation_requested(); ++n) {
      timer.expires_after(period_);
      boost::system::error_code ec;
      co_await timer.async_wait(
          lifetime::bind_cancellation(token, asio::redirect_error(asio::use_awaitable, ec)));
      if (!ec)
        spdlog::info("tick {}", n);
    }
    spdlog::info("ticker: stopping ({})", lifetime::to_string(token.reason()));
  }

 private:
  std::chrono::milliseconds period_;
};

int main(int argc, char* argv[]) {
  lifetime::host::options options("lifetime_example_owning_host");
  options.add_options()(
      "tick",
      boost::program_options::value<lifetime::host::duration_value>()->default_value(
          lifetime::host::duration_value{std::chrono::seconds(1)}),
      "time between ticks");
  if (auto code = options.parse(argc, argv))
    return *code;

  lifetime::host::host host(options.to_host_options());
  host.add_service<ticker>(options.duration("tick"));
  // Work that needs time to stop asks for it by name; the host bounds it by the budget.
  host.lifetime().on_stopping("flush-cache", [] { spdlog::info("flushing the cache"); });
  return host.run();
}
