// SPDX-License-Identifier: MIT
#include "http/handlers/handlers.hpp"
#include "http/router.hpp"

namespace lifetime::demo {

router make_demo_router() {
  using boost::beast::http::verb;
  router r;
  r.add({verb::get, "/", handlers::page})
      .add({verb::get, "/hello", handlers::hello})
      .add({verb::get, "/healthz", handlers::healthz})
      .add({verb::get, "/readyz", handlers::readyz})
      .add({verb::get, "/metrics", handlers::metrics})
      .add({verb::get, "/api/work", handlers::work})
      .add({verb::get, "/api/stream", handlers::stream})
      .add({verb::get, "/csrf-token", handlers::csrf_token})
      .add({verb::post, "/api/operations", handlers::start_operation, body_mode::buffered, true})
      .add({verb::get, "/api/operations/{}", handlers::get_operation})
      .add({verb::get, "/api/operations/{}/events", handlers::operation_events})
      .add({verb::post, "/api/operations/{}/cancel", handlers::cancel_operation,
            body_mode::buffered, true})
      .add({verb::put, "/api/uploads/{}", handlers::upload, body_mode::streamed, true})
      .add({verb::post, "/admin/restart", handlers::restart});
  return r;
}

}  // namespace lifetime::demo
