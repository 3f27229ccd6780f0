// SPDX-License-Identifier: MIT
#include "request_token.hpp"

namespace lifetime::http::detail {

const cancellation_token request_token::none_;

void request_token::begin(bool cancellable, const cancellation_token& cancel_in_flight,
                          const cancellation_token& generation,
                          deadline_clock::time_point deadline) noexcept {
  cancellable_ = cancellable;
  cancel_in_flight_ = &cancel_in_flight;
  generation_ = &generation;
  deadline_ = deadline;
}

cancellation_token request_token::get(const boost::asio::any_io_executor& executor,
                                      bool peer_gone) {
  if (!cancellable_)
    return {};
  if (!source_) {
    source_.emplace(cancellation_source::linked({*cancel_in_flight_, *generation_}, deadline_));
    const auto when = source_->deadline();
    if (peer_gone) {
      source_->cancel(cancellation_reason::client_disconnected);
    } else if (when != no_deadline && when <= deadline_clock::now()) {
      source_->cancel(cancellation_reason::deadline_exceeded);
    } else {
      deadline_timer_ = cancel_at_deadline(executor, *source_);
    }
  }
  return source_->token();
}

void request_token::cancel(cancellation_reason reason) noexcept {
  if (source_)
    source_->cancel(reason);
}

void request_token::end() noexcept {
  deadline_timer_.disarm();
  source_.reset();
  cancellable_ = false;
  cancel_in_flight_ = &none_;
  generation_ = &none_;
}

}  // namespace lifetime::http::detail
