// A tiny scripted HTTP/1.1 server on 127.0.0.1 for error-path unit tests: each request it
// receives is answered with the next canned response of its script (keep-alive connections are
// supported, one thread per connection). It records every request it saw.
//
// Bounded: every blocking wait polls a stop flag, and the destructor stops and joins all threads.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cm::testing {

struct CannedResponse {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool close_without_answer = false;   // drop the connection instead of answering
};

struct SeenRequest {
  std::string method;
  std::string path;                            // request target, including any query string
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class FakeHttpServer {
 public:
  // Starts listening on an ephemeral loopback port. Requests beyond the script get
  // `fallback` (by default 500 "fake server: script exhausted").
  explicit FakeHttpServer(std::vector<CannedResponse> script = {});
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool ok() const { return listen_fd_ >= 0; }

  void push(CannedResponse response);
  void set_fallback(CannedResponse response);
  // From now on a request whose X-Chroma-Token is not `token` is answered 401 (like a Chroma
  // server with token auth) without consuming the script; it is still recorded.
  void require_token(std::string token);
  // From now on every authorised request is forwarded to `upstream` ("http://host:port", e.g. a
  // real Chroma server) and its answer returned: with require_token(), a token-checking proxy in
  // front of a real server (OSS Chroma has no token auth of its own here).
  void forward_to(std::string upstream);
  std::vector<SeenRequest> requests() const;

 private:
  void accept_loop();
  void serve_connection(int fd);
  CannedResponse next_response();
  CannedResponse forward(const SeenRequest& request, const std::string& upstream) const;
  // Sleeps up to `d`, returning early (false) when the server is stopping.
  bool wait_for(std::chrono::milliseconds d);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::deque<CannedResponse> script_;
  CannedResponse fallback_{500, "fake server: script exhausted", std::chrono::milliseconds(0),
                           false};
  std::vector<SeenRequest> seen_;
  std::optional<std::string> required_token_;
  std::string upstream_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace cm::testing
