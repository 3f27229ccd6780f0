// SPDX-License-Identifier: MIT
// One HTTP/1.1 connection: reads requests one after another, runs each through admission,
// routing, filters and its handler with its own cancellation token, answers what the handler
// could not, and notices when the client goes away.
//
// The connection is the loop and the lifecycle; each step is a unit of its own:
//   transport.hpp         socket, read buffer, the one timeout
//   request_reader.hpp    reading and parsing a header (pipelined requests need no read)
//   request_token.hpp     the request's lazily made token (stop, restart, deadline, disconnect)
//   disconnect_watch.hpp  a pending read while the handler waits: the client left
//   body_reader.hpp       buffered and streamed bodies, their limits, 100-continue
//   response_writer.hpp   one sendmsg per response
//   outcome.hpp           exception → status, and the access log
// A request_context reaches the connection only through detail::exchange.
//
// @par Stop
// Through the drain delay (stopping fired, still accepting) keep-alive goes on as usual. After
// stop_accepting every response carries Connection: close, and an idle connection closes once
// the configuration's closing_linger has passed since the later of its last response and the stop:
// a proxy's pooled connection gets its next request answered rather than closed under it. A
// connection accepted at stop-accepting, or holding a request that had arrived by then, is served
// on a copy of the stop's hold on the in-flight gate.
//
// @par Thread safety
// Everything runs on the socket's executor, whose handlers never run concurrently (an I/O
// thread's own io_context, or a strand; server_environment::connection_threads); "the strand"
// below means that executor. close_if_idle() and close() may be called from any thread (they
// post to it).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/url/url_view.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>
#include <lifetime/http/detail/exchange.hpp>
#include <lifetime/http/router.hpp>
#include <lifetime/http/server.hpp>

#include "body_reader.hpp"
#include "disconnect_watch.hpp"
#include "generation.hpp"
#include "request_reader.hpp"
#include "request_token.hpp"
#include "thread_balancer.hpp"
#include "transport.hpp"

namespace lifetime::http::detail {

class connection final : public std::enable_shared_from_this<connection>, public exchange {
 public:
  connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<http::server> owner);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// The executor for a new connection's socket: a strand over `base`. Over an io_context's own
  /// executor (the usual case) the strand fits inside any_io_executor, so copying it (every
  /// operation does) allocates nothing.
  static boost::asio::any_io_executor make_executor(const boost::asio::any_io_executor& base);

  /// Registers with the server and starts serving on the socket's strand.
  void start();
  /// Like start() for a connection accepted while the server stops accepting: its first request
  /// is still read and answered (with Connection: close). `admission`, when given, is a hold on
  /// the in-flight gate taken before the gate closed: the first request enters on a copy of it.
  void start_last_request(std::shared_ptr<const lifetime::gate::holder> admission = nullptr);
  /// Closes the connection once it has waited for a request for the closing linger and none has
  /// arrived; otherwise it closes after the next response, which enters the in-flight gate on a
  /// copy of `admission`. Any thread.
  void close_if_idle(std::shared_ptr<const lifetime::gate::holder> admission = nullptr);
  /// Closes the socket now. Any thread.
  void close();

  // detail::exchange
  cancellation_token token() override;
  void watch_disconnect() override;
  bool body_complete() const noexcept override { return body_.complete(); }
  boost::asio::awaitable<std::size_t> read_body_some(char* data, std::size_t size) override;
  const std::string& buffered_body() const noexcept override { return body_.body(); }
  bool keep_alive_allowed() const noexcept override;
  std::string& header_buffer() noexcept override { return write_buffer_; }
  boost::system::error_code write_now(std::string_view header, std::string_view body,
                                      std::size_t& written) override;
  boost::asio::awaitable<boost::system::error_code> write_rest(std::string_view header,
                                                               std::string_view body,
                                                               std::size_t written) override;
  boost::asio::awaitable<boost::system::error_code> write_all(
      std::span<const boost::asio::const_buffer> buffers, bool cancellable) override;
  http::server& owner() noexcept override { return *server_; }

 private:
  /// Serves requests until the connection ends or goes idle (then park()).
  boost::asio::awaitable<void> run();
  /// Starts run() on the socket's executor.
  void spawn();
  /// Idle: reads into the buffer with no coroutine alive (request_reader::read_space()), then
  /// runs run() again.
  void park();
  /// Counts an observer request while it runs.
  class observing {
   public:
    explicit observing(http::server& owner) noexcept;
    observing(const observing&) = delete;
    observing& operator=(const observing&) = delete;
    ~observing();

   private:
    http::server& owner_;
  };
  /// What serve_one() keeps of a request from begin_request() to end_request().
  struct request_start {
    request_start(boost::urls::url_view u, router::match m) : url(u), match(std::move(m)) {}
    boost::urls::url_view url;
    router::match match;
    std::optional<lifetime::gate::holder> holder;  // its place in the in-flight gate
    std::optional<observing> watching;             // an observer, counted as one
    bool admitted = false;                         // false: answered 503
    bool bad_timeout = false;                      // `?timeout=` did not parse: answered 400
  };

  /// Answers the request the reader read (`result`); false when the connection ends after it.
  /// The coroutine is the handler's part; what comes before and after is plain code, so that its
  /// frame stays small enough for Asio's recycling allocator.
  boost::asio::awaitable<bool> serve_one(request_reader::result result);
  /// Admission, routing, generation, deadline, token: emplaces `request`, ready for its handler.
  /// Left empty when the request cannot be served: the 400's message is returned, or null for
  /// reject()'s `result`.
  const char* begin_request(request_reader::result result,
                            std::chrono::steady_clock::time_point started,
                            std::optional<request_start>& request);
  /// After the answer: the access log line, the generation and the in-flight gate left; true
  /// when the connection serves another request.
  bool end_request(request_context& ctx, request_start& request, const std::exception_ptr& failure,
                   cancellation_reason ended, bool must_close,
                   std::chrono::steady_clock::time_point started);
  /// The request could not be read (431, 400): answers and says the connection ends.
  boost::asio::awaitable<bool> reject(request_reader::result result,
                                      std::chrono::steady_clock::time_point started);
  /// A hold on the in-flight gate, or nothing when it is closed.
  std::optional<lifetime::gate::holder> admit();
  /// Admission, `?timeout=`, routing, filters, body and the handler; the exception it ended with.
  boost::asio::awaitable<std::exception_ptr> dispatch(request_context& ctx,
                                                      const router::match& match, bool admitted,
                                                      bool bad_timeout);
  /// write_rest()'s second half: write_buffer_ (the header's unsent rest), then `body`.
  boost::asio::awaitable<boost::system::error_code> write_buffered_header_and(
      std::string_view body);
  /// After the answer, its log line and the watch's stop: forgets the request.
  void finish();

  transport transport_;
  std::shared_ptr<http::server> server_;
  std::size_t thread_slot_;  // in server_->connection_threads()
  request_token token_;
  disconnect_watch watch_{transport_, token_};
  body_reader body_{transport_, watch_, token_};
  bool closing_ = false;
  request_reader reader_{transport_, closing_};
  std::string write_buffer_;  // a response header written across suspensions (header_buffer())
  boost::beast::http::request_header<> header_;
  bool served_any_ = false;
  bool request_keep_alive_ = true;
  bool answer_first_ = false;  // accepted at stop: the first request is answered regardless
  // A hold on the in-flight gate given at stop-accepting to a connection whose request had
  // arrived: its next request enters the gate on it.
  std::optional<lifetime::gate::holder> admitted_;
  bool in_request_ = false;  // from entering the in-flight gate to leaving it
  // The configuration and generation requests start with: refreshed before each request, never
  // during one.
  server::snapshot snapshot_;
  // The generation the current request runs in (snapshot_'s), from its start until it is
  // answered.
  generation* generation_ = nullptr;
};

}  // namespace lifetime::http::detail
