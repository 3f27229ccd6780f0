// SPDX-License-Identifier: MIT
// GET /api/lifecycle/events from a real lifetime-demo across SIGHUP and SIGTERM: the generation
// change with how the old generation's request ended, then every phase of the stop in order with
// its duration and the in-flight count draining, and a stream that ends cleanly without holding
// the drain.
#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "demo_process.hpp"

namespace lifetime::demo::test {
namespace {

struct sse_event {
  std::string id;
  std::string kind;
  boost::json::object data;

  std::string text(std::string_view name) const {
    const auto* v = data.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  }
  double number(std::string_view name) const {
    const auto* v = data.if_contains(name);
    return v != nullptr && v->is_number() ? v->to_number<double>() : -1;
  }
  bool has(std::string_view name) const { return data.contains(name); }
};

/// The lifecycle stream read off the wire: each event is one chunk, so its lines are found
/// between the chunks' framing.
class event_stream {
 public:
  explicit event_stream(unsigned short port) : client_(port, std::chrono::seconds(10)) {
    client_.send_request("GET", "/api/lifecycle/events");
    const auto head = client_.read_until("\r\n\r\n");
    REQUIRE(head.rfind("HTTP/1.1 200", 0) == 0);
    REQUIRE(head.find("text/event-stream") != std::string::npos);
    client_.buffered().erase(0, head.find("\r\n\r\n") + 4);
  }

  /// The next event; nothing once the server ended the stream and closed the connection.
  std::optional<sse_event> next() {
    for (;;) {
      std::string& buffer = client_.buffered();
      auto end = buffer.find("\n\n");
      if (end == std::string::npos) {
        try {
          client_.read_until("\n\n");
        } catch (const std::runtime_error&) {
          ended_cleanly_ = buffer.find("0\r\n\r\n") != std::string::npos;
          return std::nullopt;
        }
        continue;
      }
      const std::string block = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      sse_event e;
      std::size_t at = 0;
      while (at < block.size()) {
        auto eol = block.find('\n', at);
        if (eol == std::string::npos)
          eol = block.size();
        std::string line = block.substr(at, eol - at);
        at = eol + 1;
        if (!line.empty() && line.back() == '\r')
          line.pop_back();
        if (line.rfind("id: ", 0) == 0)
          e.id = line.substr(4);
        else if (line.rfind("event: ", 0) == 0)
          e.kind = line.substr(7);
        else if (line.rfind("data: ", 0) == 0)
          e.data = boost::json::parse(line.substr(6)).as_object();
      }
      if (!e.kind.empty())
        return e;
    }
  }

  /// Events until `done` holds for one (included), or the stream ends (REQUIREd not to).
  template <class Done>
  std::vector<sse_event> until(Done done) {
    std::vector<sse_event> seen;
    for (;;) {
      auto e = next();
      REQUIRE(e.has_value());
      seen.push_back(*e);
      if (done(*e))
        return seen;
    }
  }

  bool ended_cleanly() const { return ended_cleanly_; }

 private:
  http_client client_;
  bool ended_cleanly_ = false;
};

}  // namespace

TEST_CASE(
    "the lifecycle stream shows a SIGHUP's new generation and how the old one's request ended, "
    "then each phase of a SIGTERM in order with its duration and the in-flight count draining, and "
    "ends cleanly",
    "[lifecycle]") {
  // No restart grace: the old generation's request ends 503 at the SIGHUP. (With the default 10 s
  // grace it would end just as the stream's 10 s read timeout runs out: a race.)
  demo_process demo({"--shutdown-timeout=5s", "--restart-grace=0"});
  REQUIRE(demo.wait_for_log("started in", std::chrono::seconds(10)));
  event_stream stream(demo.port());
  // The replay: this process, ready, serving generation 1.
  bool ready = false;
  bool generation_one = false;
  stream.until([&](const sse_event& e) {
    if (e.kind == "process" && e.text("state") == "ready") {
      CHECK(e.number("pid") == demo.pid());
      CHECK(e.text("name") == "lifetime-demo");
      ready = true;
    }
    if (e.kind == "generation" && e.number("number") == 1)
      generation_one = true;
    return ready && generation_one;
  });

  http_client work(demo.port());
  work.send_request("GET", "/api/work?seconds=30");
  REQUIRE(eventually([&] { return metric(demo.port(), "demo_work_in_progress") == 1; }));
  demo.signal(SIGHUP);
  std::optional<sse_event> generation;
  std::optional<sse_event> ended;
  std::optional<sse_event> reload_end;
  stream.until([&](const sse_event& e) {
    if (e.kind == "generation")
      generation = e;
    // (A /metrics probe that was still winding down may end in the old generation too.)
    if (e.kind == "request_ended" && e.text("target") == "/api/work?seconds=30")
      ended = e;
    if (e.kind == "reload" && e.text("state") == "end")
      reload_end = e;
    return generation && ended && reload_end;
  });
  CHECK(generation->number("number") == 2);
  CHECK(generation->number("old_in_flight") >= 1);  // the work (the stream is not counted)
  CHECK(ended->number("generation") == 1);
  CHECK(ended->number("status") == 503);
  CHECK(ended->text("reason") == "restart");
  CHECK(ended->text("target") == "/api/work?seconds=30");
  CHECK(reload_end->text("result") == "ok");
  CHECK(reload_end->number("took_ms") >= 0);
  CHECK(work.read_response().status == 503);

  // One request still working when the stop begins: the drain waits for it.
  http_client last(demo.port());
  last.send_request("GET", "/api/work?seconds=0.6");
  REQUIRE(eventually([&] { return metric(demo.port(), "demo_work_in_progress") == 1; }));
  const auto signalled = std::chrono::steady_clock::now();
  demo.signal(SIGTERM);
  const auto stopping = stream.until(
      [](const sse_event& e) { return e.kind == "process" && e.text("state") == "stopping"; });
  CHECK(stopping.back().text("cause") == "SIGTERM");
  // Then every phase begins and ends in order, with its duration, until the stream ends.
  std::vector<sse_event> phases;
  std::uint64_t last_sequence = 0;
  while (auto e = stream.next()) {
    CHECK(e->number("seq") > static_cast<double>(last_sequence));
    last_sequence = static_cast<std::uint64_t>(e->number("seq"));
    if (e->kind == "phase")
      phases.push_back(*e);
  }
  CHECK(stream.ended_cleanly());
  REQUIRE(phases.size() >= 11);  // 1-5 begin and end, 6 begins (the stream ends in phase 6)
  for (std::size_t i = 0; i < 11; ++i) {
    const auto& p = phases[i];
    INFO("phase event " << i << ": " << p.text("phase") << " " << p.text("state"));
    CHECK(p.number("number") == static_cast<double>(i / 2 + 1));
    CHECK(p.text("state") == (i % 2 == 0 ? "begin" : "end"));
    if (i % 2 == 1)
      CHECK(p.number("took_ms") >= 0);
    else
      CHECK_FALSE(p.has("took_ms"));
  }
  CHECK(phases[6].text("phase") == "drain");
  CHECK(phases[6].number("in_flight") >= 1);
  CHECK(phases[7].number("in_flight") == 0);
  CHECK(phases[7].number("took_ms") > 100);  // it waited for the request
  CHECK(last.read_response().status == 200);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
  // The stream is an observer: the drain did not wait for it.
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(2));
}

}  // namespace lifetime::demo::test
