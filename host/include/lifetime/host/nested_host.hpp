// SPDX-License-Identifier: MIT
// A host that runs as a hosted service of another host, on the other host's io_context.
//
// The inner host is embedded (no threads, no signals of its own). Relative to the outer host:
// - start(): the inner host starts; start() completes when the inner host's lifetime().started()
//   fires, or throws (startup failure of the outer host) if the inner host exits first.
// - stopping() (outer phase 1): the inner host begins its own stop, so its drain runs alongside
//   the outer drain.
// - stop() (outer phase 6): waits until the inner host has fully stopped, so the outer host
//   reports stopped() only after the inner one. Throws if the inner host exited with a non-zero
//   code (the outer host then exits 1).
// - If the inner host stops on its own with a non-zero exit code while the outer one runs, the
//   outer host is stopped too.
// The inner host's budget is its own host_options::shutdown_timeout: keep it below the outer
// budget.
//
// Thread safety: as for any hosted_service; inner() may be used from any thread as host allows.
#pragma once

#include <atomic>
#include <string_view>

#include <lifetime/host/host.hpp>
#include <lifetime/host/hosted_service.hpp>

namespace lifetime::host {

class nested_host : public hosted_service {
 public:
  /// The inner host, embedded on `outer`'s io_context. `outer` must outlive this service.
  nested_host(host& outer, host_options inner_options);

  /// The inner host: add its services before the outer host starts.
  host& inner() noexcept { return inner_; }

  /// The inner host's exit code, or -1 while it runs.
  int exit_code() const noexcept { return exit_code_.load(); }

  std::string_view name() const noexcept override;
  boost::asio::awaitable<void> start(lifetime::cancellation_token token) override;
  boost::asio::awaitable<void> stopping() override;
  boost::asio::awaitable<void> stop(lifetime::cancellation_token token) override;

 private:
  host& outer_;
  host inner_;
  lifetime::cancellation_source exited_;
  std::atomic<int> exit_code_{-1};
};

}  // namespace lifetime::host
