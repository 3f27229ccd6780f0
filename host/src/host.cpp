// SPDX-License-Identifier: MIT
// The host's public face: construction in either mode and the calls of host.hpp, each handing
// over to host::impl (host_impl.hpp).
#include <lifetime/host/host.hpp>

#include <stdexcept>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <lifetime/host/logging.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

host::host(host_options options) {
  if (options.configure_logging) {
    configure_logging(options.log_level);
    install_exception_logger();
  }
  const unsigned threads = std::max(1u, options.threads);
  auto io = std::make_unique<detail::owned_io_context>(static_cast<int>(threads));
  auto& io_ref = *io;
  impl_ = std::make_shared<impl>(std::move(io), std::make_unique<detail::owned_io_context>(1),
                                 io_ref, std::move(options));
  // With more than one thread, connections get io_contexts of their own, each run by one thread
  // (concurrency hint 1): a connection's handlers then never take a lock another thread contends
  // for, and a handler that blocks holds neither io_ nor the services' hooks.
  for (unsigned i = 0; threads > 1 && i < threads; ++i)
    impl_->thread_io_.push_back(std::make_unique<detail::owned_io_context>(1));
  impl_->init();
}

host::host(asio::io_context& io, host_options options)
    : impl_(std::make_shared<impl>(nullptr, nullptr, io, std::move(options))) {
  impl_->options_.handle_signals = false;
  impl_->init();
}

host::~host() {
  if (impl_->owned_io_) {
    // Destroy what is still queued (abandoned coroutines, timers' handlers) on the sequence's
    // context and on the I/O context while the services are alive, then the services, then the
    // contexts (the impl's last members).
    impl_->signals_.reset();
    impl_->control_io_->stop();
    impl_->control_io_->shutdown();
    for (auto& io : impl_->thread_io_) {
      io->stop();
      io->shutdown();
    }
    impl_->owned_io_->stop();
    impl_->owned_io_->shutdown();
  }
}

lifetime::application_lifetime& host::lifetime() noexcept {
  return impl_->lifetime_;
}
asio::any_io_executor host::get_executor() noexcept {
  return impl_->io_.get_executor();
}
asio::io_context& host::io_context() noexcept {
  return impl_->io_;
}
std::vector<asio::any_io_executor> host::connection_executors() const {
  std::vector<asio::any_io_executor> out;
  if (!impl_->owned_io_)
    return out;  // the embedder's threads may be many
  if (impl_->thread_io_.empty())
    out.emplace_back(impl_->io_.get_executor());  // one thread runs io_
  for (const auto& io : impl_->thread_io_)
    out.emplace_back(io->get_executor());
  return out;
}
const host_options& host::options() const noexcept {
  return impl_->options_;
}

hosted_service& host::add_service(std::unique_ptr<hosted_service> service) {
  if (impl_->started_)
    throw std::logic_error("host::add_service() after start");
  auto entry = std::make_unique<service_entry>();
  entry->background = dynamic_cast<background_service*>(service.get());
  entry->service = std::move(service);
  hosted_service& result = *entry->service;
  impl_->services_.push_back(std::move(entry));
  return result;
}

lifetime::gate& host::in_flight() noexcept {
  return impl_->in_flight_;
}
cancellation_token host::stop_accepting_token() const noexcept {
  return impl_->stop_accepting_.token();
}
cancellation_token host::in_flight_token() const noexcept {
  return impl_->in_flight_cancel_.token();
}

void host::link_parent(cancellation_token parent) {
  // The registration is the impl's own member, and its destruction waits for a running callback:
  // the raw pointer cannot dangle, and no other thread ever holds the impl through it.
  impl* self = impl_.get();
  impl_->parent_links_.emplace_back(
      parent, std::function<void()>([self] {
        self->lifetime_.stop_application(cancellation_reason::application_stopping);
      }));
}

void host::link_parent(lifetime::application_lifetime& parent) {
  {
    std::lock_guard lock(impl_->parent_leases_mutex_);
    impl_->parent_leases_.push_back(parent.delay_shutdown(
        impl_->options_.name, lifetime::application_lifetime::clock::duration::max()));
  }
  link_parent(parent.stopping());
}

int host::run() {
  if (!impl_->owned_io_)
    throw std::logic_error("host::run() needs an owning host");
  return impl_->run();
}

void host::start(std::function<void(int)> on_exit) {
  impl_->start(std::move(on_exit));
}

void host::request_reload() {
  asio::co_spawn(impl_->strand_, impl_->reload(), asio::detached);
}

void host::set_status_note(std::string note) {
  {
    std::lock_guard lock(impl_->status_note_mutex_);
    impl_->status_note_ = std::move(note);
  }
  if (impl_->lifetime_.state() == lifetime_state::started && !impl_->reloading_)
    impl_->notifier_.status(impl_->running_status());
}

std::string host::impl::running_status() const {
  std::lock_guard lock(status_note_mutex_);
  return status_note_.empty() ? std::string("running") : "running; " + status_note_;
}

void host::request_upgrade() {
  asio::co_spawn(impl_->strand_, impl_->upgrade(), asio::detached);
}

host::upgrade_counts host::upgrades() const noexcept {
  return upgrade_counts{impl_->upgrades_succeeded_.load(), impl_->upgrades_failed_.load()};
}

std::string host::state_dump() const {
  return impl_->state_dump();
}

std::vector<systemd::listen_fd> host::take_listen_fds() {
  std::lock_guard lock(impl_->listen_fds_mutex_);
  return std::exchange(impl_->listen_fds_, {});
}

lifecycle_events& host::events() noexcept {
  return impl_->events_;
}

systemd::notifier& host::notifier() noexcept {
  return impl_->notifier_;
}

}  // namespace lifetime::host
