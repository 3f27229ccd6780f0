// SPDX-License-Identifier: MIT
// PUT /api/uploads/{name}: committed atomically, nothing left behind by an aborted upload, names
// that try to leave the storage folder rejected.
#include "uploads.hpp"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "test_server.hpp"

namespace lifetime::demo::test {
namespace {

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a complete upload is committed under its name") {
  test_server server;
  const auto s = new_session(server.port());
  const std::string content(300 * 1024, 'x');
  const auto r = request(server.port(), "PUT", "/api/uploads/report.txt", s.headers(), content);
  CHECK(r.status == 201);
  CHECK(files_in(server.storage()) == std::vector<std::string>{"report.txt"});
  CHECK(read_file(server.storage() / "report.txt") == content);
  CHECK(metric(server.port(), "demo_uploads_committed_total") == 1);
}

TEST_CASE("a chunked upload with Expect: 100-continue is committed") {
  test_server server;
  const auto s = new_session(server.port());
  http_client c(server.port());
  auto headers = s.headers();
  headers["Transfer-Encoding"] = "chunked";
  headers["Expect"] = "100-continue";
  c.send_request("PUT", "/api/uploads/chunked.bin", headers);
  c.read_until("100 Continue\r\n\r\n");
  c.buffered().clear();
  c.send("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  CHECK(c.read_response().status == 201);
  CHECK(read_file(server.storage() / "chunked.bin") == "hello world");
}

TEST_CASE("an upload aborted midway leaves no file, not even a temporary one", "[threads]") {
  test_server server;
  const auto s = new_session(server.port());
  auto headers = s.headers();
  headers["Content-Length"] = std::to_string(10 * 1024 * 1024);
  SECTION("by a reset") {
    http_client c(server.port());
    c.send_request("PUT", "/api/uploads/big.bin", headers, std::string(256 * 1024, 'y'));
    c.reset();
  }
  SECTION("by a half-close") {
    http_client c(server.port());
    c.send_request("PUT", "/api/uploads/big.bin", headers, std::string(256 * 1024, 'y'));
    c.shutdown_write();
    CHECK(c.wait_closed());
  }
  REQUIRE(eventually([&] { return metric(server.port(), "demo_uploads_aborted_total") == 1; }));
  CHECK(files_in(server.storage()).empty());
}

TEST_CASE("upload names that could leave the storage folder answer 400") {
  test_server server;
  const auto s = new_session(server.port());
  for (const char* target :
       {"/api/uploads/..", "/api/uploads/%2e%2e", "/api/uploads/a%2Fb", "/api/uploads/..%2Fx",
        "/api/uploads/%00", "/api/uploads/a%0Ab", "/api/uploads/.hidden", "/api/uploads/a%5Cb"}) {
    INFO(target);
    CHECK(request(server.port(), "PUT", target, s.headers(), "data").status == 400);
  }
  const std::string long_name(max_upload_name + 1, 'n');
  CHECK(request(server.port(), "PUT", "/api/uploads/" + long_name, s.headers(), "data").status ==
        400);
  CHECK(request(server.port(), "PUT", "/api/uploads/", s.headers(), "data").status == 404);
  CHECK(files_in(server.storage()).empty());
  CHECK_FALSE(std::filesystem::exists(server.storage().parent_path() / "x"));
}

TEST_CASE("an upload larger than the limit answers 413 and leaves nothing") {
  demo_config config;
  config.max_upload_size = 1000;
  test_server server(config);
  const auto s = new_session(server.port());
  CHECK(request(server.port(), "PUT", "/api/uploads/big", s.headers(), std::string(2000, 'z'))
            .status == 413);
  // Chunked: the limit is found while streaming.
  http_client c(server.port());
  auto headers = s.headers();
  headers["Transfer-Encoding"] = "chunked";
  c.send_request("PUT", "/api/uploads/big", headers);
  c.send("7d0\r\n" + std::string(2000, 'z') + "\r\n0\r\n\r\n");
  CHECK(c.read_response().status == 413);
  CHECK(files_in(server.storage()).empty());
}

TEST_CASE("an upload without the antiforgery token answers 403") {
  test_server server;
  CHECK(request(server.port(), "PUT", "/api/uploads/a.txt", {}, "data").status == 403);
}

TEST_CASE("temporary files left by an earlier run are removed at startup") {
  temp_dir storage;
  { std::ofstream(storage.path / ".upload-0123.tmp") << "partial"; }
  { std::ofstream(storage.path / "kept.txt") << "done"; }
  demo_config config;
  config.storage_dir = storage.path.string();
  test_server server(config);
  CHECK(files_in(storage.path) == std::vector<std::string>{"kept.txt"});
}

}  // namespace lifetime::demo::test
