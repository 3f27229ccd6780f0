// SPDX-License-Identifier: MIT
// Background operations: work that outlives the request that started it.
//
// POST /api/operations starts one; it runs in 100 ms steps on its own strand until done or
// cancelled. The handler links its token to the web host's generation (fires with `restart`), to
// the application's stopping token (`application_stopping`, from the first moment of the stop)
// and it has its own source (/cancel: `requested`). Each operation belongs to the session that
// started it: lookups by another session find nothing, exactly as for an unknown id. Ids are
// 128-bit random.
//
// @par Thread safety
// Every member of operation_registry and operation may be called from any thread. An operation's
// snapshot is read without locks (atomics); `version()` grows at every change so watchers can
// tell when to report.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <lifetime/cancellation.hpp>

namespace lifetime::demo {

struct demo_metrics;

class operation {
 public:
  enum class state_type : std::uint8_t { running, completed, cancelled };

  operation(std::string id, std::string session, unsigned steps, cancellation_source source);

  const std::string& id() const noexcept { return id_; }
  const std::string& session() const noexcept { return session_; }
  state_type state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool is_finished() const noexcept { return state() != state_type::running; }
  /// Steps done and in total.
  unsigned done_steps() const noexcept { return done_.load(std::memory_order_acquire); }
  unsigned total_steps() const noexcept { return total_; }
  /// Grows at every change (progress, end).
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
  /// Why it was cancelled (none unless state() is cancelled).
  cancellation_reason reason() const noexcept { return source_.reason(); }

  /// Requests cancellation (reason requested). @return false if it had already finished.
  bool cancel() noexcept;

  /// {"id","state","progress" (0..1),"steps","totalSteps","reason"(if cancelled),"elapsedMs"}
  boost::json::value to_json() const;

  // For the runner only: one more step done; the end (completed or cancelled).
  void step_done() noexcept;
  void finish(state_type s) noexcept;

 private:
  std::string id_;
  std::string session_;
  unsigned total_;
  cancellation_source source_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> finished_after_ms_{-1};
  std::atomic<state_type> state_{state_type::running};
  std::atomic<unsigned> done_{0};
  std::atomic<std::uint64_t> version_{0};
};

class operation_registry {
 public:
  static constexpr std::chrono::milliseconds step = std::chrono::milliseconds(100);

  explicit operation_registry(demo_metrics& stats, std::size_t max_kept = 1024)
      : metrics_(stats), max_kept_(max_kept) {}

  /// Starts an operation of `duration` for `session`, cancelled by any of `parents`.
  /// @return the operation, or nothing if `session` already runs `max_running` operations.
  std::shared_ptr<operation> try_start(const boost::asio::any_io_executor& executor,
                                       const std::string& session,
                                       std::chrono::milliseconds duration,
                                       std::span<const cancellation_token> parents,
                                       std::size_t max_running);

  /// The operation `id` if it belongs to `session`; otherwise nothing (never tells which).
  std::shared_ptr<operation> find(const std::string& id, const std::string& session) const;

  std::size_t running(const std::string& session) const;

 private:
  void forget_finished_locked();

  demo_metrics& metrics_;
  std::size_t max_kept_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<operation>> operations_;
  std::vector<std::string> order_;
};

}  // namespace lifetime::demo
