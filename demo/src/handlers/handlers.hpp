// SPDX-License-Identifier: MIT
// The endpoints of lifetime-demo, one function per route (see router.cpp's make_demo_router()).
//
// Each runs on its connection's strand as a coroutine, observes request_context::token(), and
// answers through the context. Cancellation propagates as lifetime::operation_cancelled.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace lifetime::demo {

class request_context;

namespace handlers {
using result = boost::asio::awaitable<void>;

result page(request_context& ctx);              // GET /
result hello(request_context& ctx);             // GET /hello
result healthz(request_context& ctx);           // GET /healthz
result readyz(request_context& ctx);            // GET /readyz
result metrics(request_context& ctx);           // GET /metrics
result work(request_context& ctx);              // GET /api/work?seconds=N[&timeout=D]
result stream(request_context& ctx);            // GET /api/stream?seconds=N
result csrf_token(request_context& ctx);        // GET /csrf-token
result start_operation(request_context& ctx);   // POST /api/operations?seconds=N
result get_operation(request_context& ctx);     // GET /api/operations/{id}
result operation_events(request_context& ctx);  // GET /api/operations/{id}/events
result cancel_operation(request_context& ctx);  // POST /api/operations/{id}/cancel
result upload(request_context& ctx);            // PUT /api/uploads/{name}
result restart(request_context& ctx);           // POST /admin/restart

/// ?seconds=N: a number of seconds in [0, 3600] (fractions allowed). @throws http_error(400).
double seconds_param(const request_context& ctx);
}  // namespace handlers

}  // namespace lifetime::demo
