// SPDX-License-Identifier: MIT
// Fuzzes lifetime::http's request handling, with lifetime-demo's routes, up to the handler, fed raw
// bytes in memory (no sockets).
//
// The input is what a client sends on a connection. It goes through the same steps, configured
// the same way, as the connection (http/src/request_reader.cpp, body_reader.cpp) with the default
// demo_config: Beast's request_parser<empty_body> with header_limit(max_header_size), read with
// http::read_header from an in-memory Beast test stream into a flat_buffer; then the target parsed
// with boost::urls::parse_origin_form, its segments routed with the demo's router, the
// `?timeout=` parameter read with lifetime::host::try_parse_duration(), the session cookie found
// with find_cookie() and, on routes with a filter, the antiforgery header checked with
// session_store::verify() (the body is read even when that fails, where the connection would answer
// 403); then the body: a buffered route's through request_parser<string_body> with
// body_limit(max_body_size), a streamed route's (uploads) through request_parser<buffer_body> with
// body_limit(max_upload_size), whose name is checked with is_valid_upload_name(). Handlers are not
// run (they need a live connection).
//
// Checks: no sanitizer report, no exception other than those the connection turns into a status,
// and the status the connection would choose for a bad read is one of 400, 413, 431.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>

#include <lifetime/host/duration.hpp>
#include <lifetime/http/router.hpp>

#include "application.hpp"
#include "csrf.hpp"
#include "demo_config.hpp"
#include "uploads.hpp"

namespace http = boost::beast::http;
namespace demo = lifetime::demo;

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

struct fixture {
  boost::asio::io_context io;
  demo::application app;
  lifetime::http::router routes = app.routes();
  demo::session_store& sessions = app.sessions();
  demo::session_store::session known = sessions.get_or_create(std::nullopt);
  demo::demo_config config;
};

fixture& shared() {
  static fixture f;
  return f;
}

/// Reads the body as the connection would; returns the status of a failure, or 0.
template <class Body>
int read_body(boost::beast::test::stream& stream, boost::beast::flat_buffer& buffer,
              http::request_parser<Body>& parser) {
  boost::system::error_code ec;
  if constexpr (std::is_same_v<Body, http::buffer_body>) {
    char chunk[4096];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      http::read(stream, buffer, parser, ec);
      if (ec == http::error::need_buffer)
        ec = {};
      if (ec)
        break;
    }
  } else {
    http::read(stream, buffer, parser, ec);
  }
  if (ec == http::error::body_limit)
    return 413;
  return 0;  // anything else: the client is gone or sent garbage; the connection closes
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = shared();
  boost::beast::test::stream stream(f.io,
                                    std::string_view(reinterpret_cast<const char*>(data), size));
  stream.close_remote();  // end of input is end of stream
  boost::beast::flat_buffer buffer;

  // One connection: requests one after another until the stream ends or a request fails.
  for (int requests = 0; requests < 16; ++requests) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(f.config.max_header_size));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == http::error::partial_message)
      return 0;
    if (ec) {
      const int status =
          ec == http::error::header_limit || ec == http::error::buffer_overflow ? 431 : 400;
      check(status == 431 || status == 400);
      return 0;
    }
    const auto& header = parser.get().base();
    const auto url = boost::urls::parse_origin_form(sv(header.target()));
    if (!url)
      return 0;  // 400 malformed target
    const auto segments = url->encoded_segments();
    auto match = f.routes.find(header.method(), segments);
    for (auto param : url->params()) {
      if (param.key == "timeout") {
        const auto timeout = lifetime::host::try_parse_duration(std::string_view(param.value));
        check(!timeout || timeout->count() >= 0);
      }
    }
    if (match.found == nullptr)
      continue;  // 404 / 405, the connection goes on
    check(match.params.size() <= segments.size());
    if (!match.found->filters.empty()) {
      std::optional<std::string_view> session;
      const auto cookie = header[http::field::cookie];
      if (!cookie.empty())
        session = demo::find_cookie(sv(cookie), demo::session_cookie_name);
      const bool ok = session && f.sessions.verify(*session, sv(header[demo::csrf_header_name]));
      // The only session that can verify is the fixture's, and only with its own token.
      if (ok)
        check(*session == f.known.id && sv(header[demo::csrf_header_name]) == f.known.csrf_token);
      // A failed check answers 403; the harness reads the body anyway, so that the fuzzer, which
      // cannot guess a 128-bit token, still reaches the upload body parser.
    }
    if (match.found->pattern == "/api/uploads/{}") {
      check(match.params.size() == 1);
      if (!demo::is_valid_upload_name(match.params[0]))
        continue;  // 400
    }
    const bool keep_alive = parser.keep_alive();
    if (!parser.is_done()) {
      const auto length = parser.content_length();
      if (match.found->body == lifetime::http::body_mode::buffered) {
        if (length && *length > f.config.max_body_size)
          return 0;  // 413, connection closes
        http::request_parser<http::string_body> body(std::move(parser));
        body.body_limit(f.config.max_body_size);
        if (read_body(stream, buffer, body) != 0)
          return 0;
        check(body.get().body().size() <= f.config.max_body_size);
        if (!body.is_done())
          return 0;
      } else {
        if (length && *length > f.config.max_upload_size)
          return 0;
        http::request_parser<http::buffer_body> body(std::move(parser));
        body.body_limit(f.config.max_upload_size);
        if (read_body(stream, buffer, body) != 0)
          return 0;
        if (!body.is_done())
          return 0;
      }
    }
    if (!keep_alive)
      return 0;
  }
  return 0;
}
