// SPDX-License-Identifier: MIT
// Hostile input to lifetime-demo: malformed option and config values, oversized and malformed
// requests, upload names that try to leave the storage folder, forged antiforgery tokens and
// other sessions' operation ids. Each case also checks that the server keeps serving.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "demo_support.hpp"

using namespace std::chrono_literals;
using namespace lifetime::test;
namespace fs = std::filesystem;

namespace {

/// Runs lifetime-demo with `args` and returns how it exited and what it printed; no status if it
/// started serving instead.
std::pair<std::optional<exit_status>, std::string> run_demo(std::vector<std::string> args) {
  args.insert(args.begin(), LIFETIME_DEMO_EXE);
  child_process child(args);
  // A value taken as valid starts the server: then there is no exit status to wait for.
  if (child.wait_for_line("started in", 10s))
    return {std::nullopt, child.output() + "(started: the value was accepted)\n"};
  auto status = child.wait_for_exit(10s);
  return {status, child.output()};
}

void check_healthy(std::uint16_t port) {
  const auto res = raw_exchange(port, get_request("/healthz"), 5s);
  REQUIRE(res);
  CHECK(res->status == 200);
}

// An option with a malformed value.
struct bad_value {
  std::string option;
  std::string value;
};
const std::vector<bad_value> bad_values{
    {"shutdown-timeout", "5 s"},
    {"shutdown-timeout", "-1s"},
    {"drain-delay", "1.5.s"},
    {"drain-delay", "10"},
    {"log-level", "loud"},
    {"threads", "many"},
    {"threads", "0x10"},
    {"request-timeout", "1x"},
    {"header-timeout", "forever"},
    {"idle-timeout", "-5s"},
    {"max-header-size", "8k"},
    {"max-upload-size", "99999999999999999999999"},
    {"request-cancellation", "maybe"},
    {"listen", "not-an-address"},
    {"listen", "127.0.0.1:99999"},
    {"listen", "127.0.0.1:-1"},
};

// Boost.Program_options' own unsigned conversion reads "-1" as the largest value (--threads -1
// would try to start 4294967295 threads, --max-body-size -5 would mean no limit): lifetime-demo
// parses these options itself and must reject them.
const std::vector<bad_value> negative_unsigned{
    {"threads", "-1"},
    {"max-body-size", "-5"},
    {"max-header-size", "-1"},
    {"max-upload-size", "-1"},
};

void check_usage_error(const std::string& dir, const bad_value& bad) {
  auto [status, output] = run_demo({"--storage-dir", dir, "--" + bad.option, bad.value, "--listen",
                                    bad.option == "listen" ? bad.value : "127.0.0.1:0"});
  INFO("--" << bad.option << " " << bad.value << "\n" << output);
  REQUIRE(status);
  CHECK(status->exited(64));
  CHECK(output.find(bad.option) != std::string::npos);
  CHECK(output.find(bad.value) != std::string::npos);
}

void check_config_error(const std::filesystem::path& dir, const bad_value& bad) {
  const auto config = dir / "demo.ini";
  std::ofstream(config) << "# demo\nstorage-dir = " << dir.string() << "\n"
                        << bad.option << " = " << bad.value << "\n";
  auto [status, output] = run_demo({"--config", config.string(), "--listen", "127.0.0.1:0"});
  INFO(bad.option << " = " << bad.value << "\n" << output);
  REQUIRE(status);
  CHECK(status->exited(78));
  CHECK(output.find(config.string() + ":3") != std::string::npos);
  CHECK(output.find(bad.option) != std::string::npos);
}

}  // namespace

TEST_CASE("every option with a malformed value exits 64 naming the option and the value",
          "[reliability][demo][options]") {
  temp_dir dir;
  for (const auto& bad : bad_values)
    check_usage_error(dir.path().string(), bad);
}

TEST_CASE("every config key with a malformed value exits 78 naming the file, the line and the key",
          "[reliability][demo][options]") {
  temp_dir dir;
  for (const auto& bad : bad_values)
    check_config_error(dir.path(), bad);
}

TEST_CASE("a negative number for an unsigned option exits 64 naming the option and the value",
          "[reliability][demo][options]") {
  temp_dir dir;
  for (const auto& bad : negative_unsigned)
    check_usage_error(dir.path().string(), bad);
}

TEST_CASE("a negative number for an unsigned config key exits 78 naming the file and the line",
          "[reliability][demo][options]") {
  temp_dir dir;
  for (const auto& bad : negative_unsigned)
    check_config_error(dir.path(), bad);
}

TEST_CASE("malformed request lines and headers answer 400 or close, and the server goes on",
          "[reliability][demo][requests]") {
  temp_dir dir;
  auto server = start_demo(dir.path(), {});
  const std::vector<std::string> malformed{
      "GET\r\n\r\n",
      "GET /hello\r\n\r\n",
      "GET /hello HTTP/1.1 extra\r\nHost: x\r\n\r\n",
      "GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n",
      " GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
      "G\x01T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
      std::string("GET /hel\0lo HTTP/1.1\r\nHost: x\r\n\r\n", 34),
      "GET /hello HTTP/x.y\r\nHost: x\r\n\r\n",
      "GET /hello FTP/1.1\r\nHost: x\r\n\r\n",
      "GET /hello HTTP/1.1\r\nHost x\r\n\r\n",
      "GET /hello HTTP/1.1\r\n: empty-name\r\n\r\n",
      "GET /hello HTTP/1.1\r\nBad Name: x\r\n\r\n",
      "GET /hello HTTP/1.1\r\nX: \x7f\x01\r\n\r\n",
      "POST /admin/restart HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST /admin/restart HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nab",
      "POST /admin/restart HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST /admin/restart HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
      "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET hello HTTP/1.1\r\nHost: x\r\n\r\n",
      "\r\n\r\n\r\n\r\n",
  };
  for (const auto& text : malformed) {
    auto c = http_client(server.port);
    REQUIRE(c.send(text));
    const auto res = c.try_read_response(5s);
    INFO(text);
    if (res) {
      CHECK(res->status == 400);
    } else {
      CHECK(c.wait_closed(5s));
    }
  }
  // Obsolete line folding may be answered 400 or unfolded into a space (RFC 9112, 5.2).
  {
    auto c = http_client(server.port);
    REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n"));
    const auto res = c.try_read_response(5s);
    if (res)
      CHECK((res->status == 400 || res->status == 200));
  }
  check_healthy(server.port);
  CHECK(server.proc->count("AddressSanitizer") == 0);
  CHECK(server.proc->count("runtime error:") == 0);
}

TEST_CASE("a request whose Transfer-Encoding does not end in chunked answers 400 and closes",
          "[reliability][demo][requests]") {
  // RFC 9112, 6.3: the body length cannot be determined, the server must answer 400 and close;
  // otherwise what follows on the connection may be taken for the next request (request
  // smuggling behind a proxy).
  temp_dir dir;
  auto server = start_demo(dir.path(), {});
  for (const std::string te : {"gzip, chunked, identity", "identity", "gzip", "chunked, gzip"}) {
    auto c = http_client(server.port);
    REQUIRE(c.send("POST /admin/restart HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                   "\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto res = c.try_read_response(5s);
    INFO("Transfer-Encoding: " << te);
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(c.wait_closed(5s));
  }
  check_healthy(server.port);
}

TEST_CASE("a request with both Content-Length and Transfer-Encoding answers 400 and closes",
          "[reliability][demo][requests]") {
  temp_dir dir;
  auto server = start_demo(dir.path(), {});
  for (const std::string fields : {"Content-Length: 5\r\nTransfer-Encoding: chunked",
                                   "Transfer-Encoding: chunked\r\nContent-Length: 5"}) {
    auto c = http_client(server.port);
    REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n" + fields +
                   "\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto res = c.try_read_response(5s);
    INFO(fields);
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(c.wait_closed(5s));
  }
  check_healthy(server.port);
}

TEST_CASE(
    "oversized request lines, header sets and bodies answer 431 or 413 and the server goes on",
    "[reliability][demo][requests]") {
  temp_dir dir;
  auto server = start_demo(dir.path(), {"--max-header-size", "8192", "--max-body-size", "1024"});
  struct oversized {
    std::string text;
    int status;
  };
  std::string many_headers = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i)
    many_headers += "X-" + std::to_string(i) + ": y\r\n";
  many_headers += "\r\n";
  std::string chunked =
      "POST /admin/restart HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i)
    chunked += "200\r\n" + std::string(512, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  const std::vector<oversized> cases{
      {"GET /" + std::string(100'000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1'000'000, 'b') + "\r\n\r\n", 431},
      {many_headers, 431},
      {"GET /hello?" + std::string(9000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
      {"POST /admin/restart HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n", 413},
      {"POST /admin/restart HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" +
           std::string(2048, 'p'),
       413},
      {chunked, 413},
  };
  for (const auto& c : cases) {
    auto conn = http_client(server.port);
    (void)conn.send(c.text);  // the server may stop reading (and reset) before the end
    const auto res = conn.try_read_response(10s);
    INFO(c.text.substr(0, 80) << "... (" << c.text.size() << " bytes)");
    REQUIRE(res);
    CHECK(res->status == c.status);
  }
  check_healthy(server.port);
}

TEST_CASE("upload names with .., /, NUL and control characters answer 400 and write nothing",
          "[reliability][demo][uploads]") {
  temp_dir dir;
  const fs::path storage = dir.path() / "storage";
  auto server = start_demo(storage, {});
  const auto s = new_session(server.port);
  const std::vector<std::string> names{
      "..",
      "%2e%2e",
      "%2E%2E",
      "..%2Fescape",
      "%2e%2e%2fescape",
      "a%2Fb",
      "%2Fetc%2Fpasswd",
      "a%00b",
      "%00",
      "a%0Ab",
      "a%0Db",
      "a%09b",
      "a%7Fb",
      "a%5Cb",
      "..%5Cescape",
      ".hidden",
      ".",
      "%2e",
      "%2e%2e%2f%2e%2e%2fescape",
      std::string(201, 'n'),
  };
  for (const auto& name : names) {
    const std::string text = "PUT /api/uploads/" + name + " HTTP/1.1\r\nHost: x\r\n" + s.headers() +
                             "Content-Length: 5\r\n\r\nhello";
    const auto res = raw_exchange(server.port, text, 5s);
    INFO(name);
    REQUIRE(res);
    CHECK(res->status == 400);
  }
  // Nothing was written, neither in the folder nor next to it.
  CHECK((!fs::exists(storage) || fs::is_empty(storage)));
  std::vector<std::string> around;
  for (const auto& e : fs::directory_iterator(dir.path()))
    around.push_back(e.path().filename().string());
  CHECK(around == std::vector<std::string>{"storage"});
  // A good name still works.
  const auto ok = raw_exchange(server.port, "PUT /api/uploads/good.txt HTTP/1.1\r\nHost: x\r\n" +
                                                s.headers() + "Content-Length: 5\r\n\r\nhello");
  REQUIRE(ok);
  CHECK(ok->status == 201);
  CHECK(fs::exists(storage / "good.txt"));
}

TEST_CASE(
    "state-changing requests with a missing, forged or another session's antiforgery token "
    "answer 403 and change nothing",
    "[reliability][demo][csrf]") {
  temp_dir dir;
  const fs::path storage = dir.path() / "storage";
  auto server = start_demo(storage, {});
  const auto a = new_session(server.port);
  const auto b = new_session(server.port);
  REQUIRE(a.cookie != b.cookie);
  REQUIRE(a.token != b.token);
  std::string forged = a.token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  const std::vector<std::pair<std::string, std::string>> attempts{
      {"no cookie, no token", ""},
      {"cookie without token", "Cookie: " + a.cookie + "\r\n"},
      {"token without cookie", "X-CSRF-TOKEN: " + a.token + "\r\n"},
      {"another session's token", "Cookie: " + a.cookie + "\r\nX-CSRF-TOKEN: " + b.token + "\r\n"},
      {"one character changed", "Cookie: " + a.cookie + "\r\nX-CSRF-TOKEN: " + forged + "\r\n"},
      {"a prefix of the token", "Cookie: " + a.cookie + "\r\nX-CSRF-TOKEN: " +
                                    a.token.substr(0, a.token.size() / 2) + "\r\n"},
      {"the token twice",
       "Cookie: " + a.cookie + "\r\nX-CSRF-TOKEN: " + a.token + a.token + "\r\n"},
      {"an empty token", "Cookie: " + a.cookie + "\r\nX-CSRF-TOKEN: \r\n"},
      {"an unknown session with its own token",
       "Cookie: lifetime_session=00000000000000000000000000000000\r\nX-CSRF-TOKEN: " + a.token +
           "\r\n"},
  };
  for (const auto& [what, headers] : attempts) {
    INFO(what);
    const auto start =
        raw_exchange(server.port, "POST /api/operations?seconds=1 HTTP/1.1\r\nHost: x\r\n" +
                                      headers + "Content-Length: 0\r\n\r\n");
    REQUIRE(start);
    CHECK(start->status == 403);
    const auto upload =
        raw_exchange(server.port, "PUT /api/uploads/forged.txt HTTP/1.1\r\nHost: x\r\n" + headers +
                                      "Content-Length: 5\r\n\r\nhello");
    REQUIRE(upload);
    CHECK(upload->status == 403);
  }
  CHECK(!fs::exists(storage / "forged.txt"));
  // The genuine token works.
  const auto genuine =
      raw_exchange(server.port, "POST /api/operations?seconds=1 HTTP/1.1\r\nHost: x\r\n" +
                                    a.headers() + "Content-Length: 0\r\n\r\n");
  REQUIRE(genuine);
  CHECK(genuine->status == 202);
}

TEST_CASE("another session cannot see, follow or cancel an operation: 404, and it keeps running",
          "[reliability][demo][csrf]") {
  temp_dir dir;
  auto server = start_demo(dir.path() / "storage", {});
  const auto owner = new_session(server.port);
  const auto other = new_session(server.port);
  const auto started =
      raw_exchange(server.port, "POST /api/operations?seconds=30 HTTP/1.1\r\nHost: x\r\n" +
                                    owner.headers() + "Content-Length: 0\r\n\r\n");
  REQUIRE(started);
  REQUIRE(started->status == 202);
  const auto id = json_string(started->body, "id");
  REQUIRE(!id.empty());

  const auto as_other = "Cookie: " + other.cookie + "\r\n";
  for (const auto& target : {"/api/operations/" + id, "/api/operations/" + id + "/events"}) {
    INFO(target);
    const auto seen = raw_exchange(server.port, get_request(target, as_other));
    REQUIRE(seen);
    CHECK(seen->status == 404);
    const auto anonymous = raw_exchange(server.port, get_request(target));
    REQUIRE(anonymous);
    CHECK(anonymous->status == 404);
  }
  const auto cancel =
      raw_exchange(server.port, "POST /api/operations/" + id + "/cancel HTTP/1.1\r\nHost: x\r\n" +
                                    other.headers() + "Content-Length: 0\r\n\r\n");
  REQUIRE(cancel);
  CHECK(cancel->status == 404);
  // Guessing: a well-formed id that does not exist, and the owner's id with one character
  // changed.
  std::string guessed = id;
  guessed.front() = guessed.front() == 'a' ? 'b' : 'a';
  const auto guess = raw_exchange(
      server.port, get_request("/api/operations/" + guessed, "Cookie: " + owner.cookie + "\r\n"));
  REQUIRE(guess);
  CHECK(guess->status == 404);

  const auto mine = raw_exchange(
      server.port, get_request("/api/operations/" + id, "Cookie: " + owner.cookie + "\r\n"));
  REQUIRE(mine);
  CHECK(mine->status == 200);
  CHECK(json_string(mine->body, "state") == "running");
  const auto own_cancel =
      raw_exchange(server.port, "POST /api/operations/" + id + "/cancel HTTP/1.1\r\nHost: x\r\n" +
                                    owner.headers() + "Content-Length: 0\r\n\r\n");
  REQUIRE(own_cancel);
  CHECK(own_cancel->status == 200);
}

TEST_CASE("a --listen address in use exits 1 at once, without the drain delay, saying so plainly",
          "[reliability][input]") {
  // A port in use: a listening socket of this test's own.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const auto began = std::chrono::steady_clock::now();
  const auto [status, output] =
      run_demo({"--listen", listen, "--drain-delay", "5s", "--storage-dir",
                (fs::temp_directory_path() / "lifetime-listen-in-use").string()});
  const auto took = std::chrono::steady_clock::now() - began;
  ::close(fd);
  INFO(output);
  REQUIRE(status);
  CHECK(status->code == 1);
  CHECK(took < 4s);  // the drain delay alone is 5 s
  CHECK(output.find("cannot listen on " + listen + ": address already in use") !=
        std::string::npos);
  CHECK(output.find(".hpp") == std::string::npos);  // no library source paths
  CHECK(output.find("[system:") == std::string::npos);
}
