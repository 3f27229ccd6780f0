// SPDX-License-Identifier: MIT
// One generation of the server: the requests that started between two restarts.
//
// Every request enters the generation current when it starts (server::enter_generation()) and
// leaves it when answered, saying how it ended. Entering and retiring change one atomic word
// (the retired bit and the count), so a request either entered before the retirement and is
// counted in it, or finds the generation retired and enters the newer one. restart() retires the
// old generation with a grace: its requests go on; when the grace runs out the generation's token
// fires with reason restart and cancels those still running, and whatever else holds the token
// (background work started in that generation, WebSocket sessions). Once the last one has left, the
// drain report goes to the callback given to retire(), once.
//
// Thread safety: try_enter()/leave() from any connection's strand; retire() and stop_grace() from
// any thread, once each; the grace timer runs on a strand of its own. The drained callback runs on
// the thread of the last leave() (or of retire() when nothing was in flight, or of the timer).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/http/restart_report.hpp>

namespace lifetime::http::detail {

class generation : public std::enable_shared_from_this<generation> {
 public:
  using drained_handler = std::function<void(const drain_report&)>;

  explicit generation(std::uint64_t number) noexcept : number_(number) {}

  std::uint64_t number() const noexcept { return number_; }
  /// Fires with reason restart when the grace after retire() runs out (or application_stopping
  /// from cancel()).
  const cancellation_token& token() const noexcept { return token_; }
  std::size_t in_flight() const noexcept {
    return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) & ~retired_bit);
  }
  /// True once restart() has replaced it.
  bool retired() const noexcept {
    return (state_.load(std::memory_order_acquire) & retired_bit) != 0;
  }

  /// Enters, unless retired (then false: the server has a newer generation).
  bool try_enter() noexcept {
    std::uint64_t value = state_.load(std::memory_order_relaxed);
    do {
      if ((value & retired_bit) != 0)
        return false;
    } while (!state_.compare_exchange_weak(value, value + 1, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    return true;
  }
  /// `ended`: none when the request was answered without being cancelled.
  void leave(cancellation_reason ended);

  /// No more requests enter. Those in flight have `grace` (zero: cancelled now); `drained` gets
  /// the report when the last has left. @return the requests in flight at the call.
  std::size_t retire(const boost::asio::any_io_executor& executor, std::chrono::milliseconds grace,
                     drained_handler drained);
  /// The process is stopping: the grace timer goes (the stop's phases now bound the requests).
  void stop_grace();
  /// Cancels every request of the generation now.
  void cancel(cancellation_reason reason) noexcept { source_.cancel(reason); }

 private:
  void on_grace_over();
  void finish_if_drained();

  static constexpr std::uint64_t retired_bit = std::uint64_t{1} << 63;

  const std::uint64_t number_;
  cancellation_source source_;
  const cancellation_token token_ = source_.token();
  std::atomic<std::uint64_t> state_{0};  // retired_bit | requests in flight
  std::atomic<std::size_t> completed_{0};
  std::atomic<std::size_t> cancelled_{0};
  std::atomic<std::size_t> other_{0};

  std::mutex mutex_;  // guards what follows
  bool reported_ = false;
  bool grace_ran_out_ = false;
  std::size_t in_flight_at_retire_ = 0;
  std::chrono::steady_clock::time_point retired_at_;
  drained_handler drained_;
  std::optional<boost::asio::steady_timer> grace_timer_;
};

}  // namespace lifetime::http::detail
