// SPDX-License-Identifier: MIT
// notification_log: what a service sent to this test's NOTIFY_SOCKET, filed as watchdog pings
// (with arrival times), STATUS= lines, and the state changes a test asserts in order. Every read
// has a deadline. One thread at a time.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace lifetime::test::systemd {

inline bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Reads a service's notifications, keeping WATCHDOG=1 (with arrival times) and STATUS= apart
// from the state changes a test asserts in order.
class notification_log {
 public:
  explicit notification_log(notify_receiver& receiver) : receiver_(receiver) {}

  // The next notification that is neither WATCHDOG=1 nor STATUS=..., within `timeout`.
  notification next_state(std::chrono::milliseconds timeout = 20s) {
    const auto deadline = clock::now() + timeout;
    while (true) {
      auto message = receive_by(deadline);
      if (!message)
        FAIL("no notification within the timeout; statuses so far: " << statuses());
      if (file(*message, false) == kind::state)
        return std::move(*message);
    }
  }

  // Reads until at least `count` watchdog pings have arrived.
  void wait_for_pings(std::size_t count, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = clock::now() + timeout;
    while (pings_.size() < count) {
      auto message = receive_by(deadline);
      REQUIRE(message);
      file(*message, true);
    }
  }

  // Reads until a STATUS= equal to `text` (or starting with it, `prefix`) arrives.
  bool wait_for_status(std::string_view text, bool prefix,
                       std::chrono::milliseconds timeout = 20s) {
    const auto deadline = clock::now() + timeout;
    while (auto message = receive_by(deadline)) {
      if (file(*message, true) == kind::status &&
          (prefix ? starts_with(statuses_.back(), text) : statuses_.back() == text))
        return true;
    }
    return false;
  }

  const std::vector<clock::time_point>& pings() const { return pings_; }
  void clear_pings() { pings_.clear(); }
  // Files what is already queued, so that later arrival times are send times.
  void drain_queued() {
    while (auto message = receiver_.receive_now())
      file(*message, true);
  }
  const std::vector<std::string>& unexpected() const { return unexpected_; }
  std::string statuses() const {
    std::string joined;
    for (const auto& s : statuses_)
      joined += "[" + s + "] ";
    return joined;
  }
  bool saw_status(std::string_view prefix) const {
    for (const auto& s : statuses_) {
      if (starts_with(s, prefix))
        return true;
    }
    return false;
  }

 private:
  enum class kind { ping, status, state };

  std::optional<notification> receive_by(clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    return receiver_.receive(std::max(left, std::chrono::milliseconds(0)));
  }

  // Files `message` with the pings, the statuses or the state changes (`unexpected`: a state
  // change no one asked for).
  kind file(const notification& message, bool unexpected) {
    if (message.text == "WATCHDOG=1") {
      pings_.push_back(clock::now());
      return kind::ping;
    }
    if (starts_with(message.text, "STATUS=")) {
      statuses_.push_back(message.text.substr(7));
      return kind::status;
    }
    all_.push_back(message.text);
    if (unexpected)
      unexpected_.push_back(message.text);
    return kind::state;
  }

  notify_receiver& receiver_;
  std::vector<clock::time_point> pings_;
  std::vector<std::string> statuses_;
  std::vector<std::string> all_;
  std::vector<std::string> unexpected_;
};

}  // namespace lifetime::test::systemd
