// SPDX-License-Identifier: MIT
#include <lifetime/host/nested_host.hpp>

#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/asio.hpp>

namespace lifetime::host {
namespace asio = boost::asio;

nested_host::nested_host(host& outer, host_options inner_options)
    : outer_(outer), inner_(outer.io_context(), std::move(inner_options)) {}

std::string_view nested_host::name() const noexcept {
  return inner_.options().name;
}

asio::awaitable<void> nested_host::start(cancellation_token token) {
  inner_.start([this](int code) {
    exit_code_ = code;
    exited_.cancel();
    if (code != 0 && !outer_.lifetime().stopping().is_cancellation_requested()) {
      spdlog::error("nested host '{}' exited with code {}: stopping '{}'", name(), code,
                    outer_.options().name);
      outer_.lifetime().stop_application(cancellation_reason::requested);
    }
  });
  auto either = cancellation_source::linked({inner_.lifetime().started(), exited_.token(), token});
  // (Arguments of a co_await are kept in named variables: g++ 12 mishandles temporaries that
  // must live across a suspension.)
  const auto executor = co_await asio::this_coro::executor;
  const auto started_or_exited = either.token();
  co_await async_wait_cancelled(started_or_exited, executor, asio::use_awaitable);
  if (exited_.is_cancellation_requested()) {
    throw std::runtime_error("nested host '" + std::string(name()) +
                             "' exited during startup with code " +
                             std::to_string(exit_code_.load()));
  }
  if (!inner_.lifetime().started().is_cancellation_requested()) {
    // The outer stop began first: stop the inner host and let it finish.
    inner_.lifetime().stop_application();
    const auto exited = exited_.token();
    co_await async_wait_cancelled(exited, executor, asio::use_awaitable);
    token.throw_if_cancellation_requested();
  }
}

asio::awaitable<void> nested_host::stopping() {
  inner_.lifetime().stop_application(cancellation_reason::application_stopping);
  co_return;
}

asio::awaitable<void> nested_host::stop(cancellation_token token) {
  inner_.lifetime().stop_application(cancellation_reason::application_stopping);
  auto either = cancellation_source::linked({exited_.token(), token});
  const auto executor = co_await asio::this_coro::executor;
  const auto exited_or_budget = either.token();
  co_await async_wait_cancelled(exited_or_budget, executor, asio::use_awaitable);
  if (!exited_.is_cancellation_requested()) {
    throw std::runtime_error("nested host '" + std::string(name()) +
                             "' did not stop within the outer budget");
  }
  if (exit_code_ != 0) {
    throw std::runtime_error("nested host '" + std::string(name()) + "' exited with code " +
                             std::to_string(exit_code_.load()));
  }
}

}  // namespace lifetime::host
