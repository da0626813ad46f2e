#include "common/chroma/http_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/chroma_server.hpp"
#include "tests/support/fake_http_server.hpp"

namespace cm {
namespace {

using std::chrono::milliseconds;
using testing::CannedResponse;
using testing::FakeHttpServer;

TEST(HttpClientTest, ConnectionRefusedIsTransientAndNamesTheUrl) {
  const int port = testing::find_free_port();  // nothing listens there
  HttpClient client("http://user:secret@127.0.0.1:" + std::to_string(port));
  auto r = client.request("GET", "/api/v2/heartbeat");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransient) << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port) + "/api/v2/heartbeat"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos) << r.error().message;
}

TEST(HttpClientTest, SlowResponseTimesOutAsTransient) {
  FakeHttpServer server({CannedResponse{200, "{}", milliseconds(3000), false}});
  ASSERT_TRUE(server.ok());
  HttpClientOptions options;
  options.request_timeout_ms = 300;
  HttpClient client(server.url(), options);
  auto start = std::chrono::steady_clock::now();
  auto r = client.request("GET", "/slow");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransient) << r.error().message;
  EXPECT_LT(elapsed, milliseconds(2500));
}

TEST(HttpClientTest, ConnectionClosedWithoutAnswerIsTransient) {
  FakeHttpServer server;
  server.set_fallback(CannedResponse{200, "", milliseconds(0), true});
  ASSERT_TRUE(server.ok());
  HttpClient client(server.url());
  auto r = client.request("POST", "/x", "{}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransient) << r.error().message;
}

TEST(HttpClientTest, StatusAndBodyArePassedThrough) {
  FakeHttpServer server({CannedResponse{418, "teapot body", milliseconds(0), false},
                         CannedResponse{200, "[1,2,3]", milliseconds(0), false},
                         CannedResponse{503, "", milliseconds(0), false}});
  HttpClient client(server.url());
  auto a = client.request("GET", "/a");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->status, 418);
  EXPECT_EQ(a->body, "teapot body");
  auto b = client.request("GET", "/b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(b->body, "[1,2,3]");
  auto c = client.request("GET", "/c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, 503);
  EXPECT_EQ(c->body, "");
}

TEST(HttpClientTest, SendsMethodPathBodyAndHeaders) {
  FakeHttpServer server;
  server.set_fallback(CannedResponse{200, "{}", milliseconds(0), false});
  HttpClientOptions options;
  options.headers = {"X-Chroma-Token: tok123", "Authorization: Bearer tok123"};
  HttpClient client(server.url(), options);
  ASSERT_TRUE(client.request("POST", "/p?x=1", R"({"a":1})"));
  ASSERT_TRUE(client.request("GET", "/g"));
  ASSERT_TRUE(client.request("DELETE", "/d"));
  ASSERT_TRUE(client.request("PUT", "/u", R"({"b":2})"));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/p?x=1");
  EXPECT_EQ(seen[0].body, R"({"a":1})");
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].headers["x-chroma-token"], "tok123");
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer tok123");
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].body, "");
  EXPECT_EQ(seen[1].headers["x-chroma-token"], "tok123");
  EXPECT_EQ(seen[2].method, "DELETE");
  EXPECT_EQ(seen[2].path, "/d");
  EXPECT_EQ(seen[3].method, "PUT");
  EXPECT_EQ(seen[3].body, R"({"b":2})");
}

TEST(HttpClientTest, LargeBodiesRoundTrip) {
  FakeHttpServer server;
  std::string big(3 << 20, 'x');  // above curl's 1 MB "Expect: 100-continue" threshold
  server.set_fallback(CannedResponse{200, big, milliseconds(0), false});
  HttpClient client(server.url());
  auto r = client.request("POST", "/big", big);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body.size(), big.size());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body.size(), big.size());
  EXPECT_EQ(server.requests()[0].headers.count("expect"), 0u);  // no 100-continue round trip
}

TEST(HttpClientTest, ConcurrentRequestsShareThePool) {
  FakeHttpServer server;
  server.set_fallback(CannedResponse{200, "ok", milliseconds(0), false});
  HttpClient client(server.url());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = client.request("GET", "/c");
        if (r && r->status == 200 && r->body == "ok") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 150);
  EXPECT_EQ(server.requests().size(), 150u);
}

TEST(HttpClientTest, UnresolvableHostIsTransient) {
  HttpClientOptions options;
  options.connect_timeout_ms = 3000;
  HttpClient client("http://no-such-host.invalid:8000", options);
  auto r = client.request("GET", "/api/v2/heartbeat");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransient) << r.error().message;
  EXPECT_NE(r.error().message.find("no-such-host.invalid"), std::string::npos);
}

TEST(HttpClientTest, MalformedUrlIsInvalidArgument) {
  HttpClient client("nosuchscheme://host");
  auto r = client.request("GET", "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
}

}  // namespace
}  // namespace cm
