// A small blocking HTTP/1.1 client over libcurl, shared by every store that talks to a server.
//
// Contract:
//  - request() returns any HTTP status as a value: deciding what a 404 or a 503 means is the
//    caller's job (see ChromaHttpStore). Only failures to get an answer at all are errors.
//  - Network failures (connection refused/reset, DNS failure, timeouts, partial transfers, TLS
//    handshake failures) are ErrorCode::kTransient; the message names the URL (credentials
//    removed) and curl's own error text. A malformed URL is kInvalidArgument.
//  - Thread-safe: any number of threads may call request() at once. Each call borrows a curl
//    easy handle from a pool and gives it back afterwards, so connections are kept alive and
//    reused across requests and threads.
//  - The client must outlive every request() call in flight.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.hpp"

struct curl_slist;  // from <curl/curl.h>, kept out of this header

namespace cm {

struct HttpClientOptions {
  long connect_timeout_ms = 5000;
  long request_timeout_ms = 120000;  // whole request, from connect to the last body byte
  // Sent on every request, each formatted "Name: value" (no CR/LF: callers validate).
  std::vector<std::string> headers;
};

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  // `base_url` is scheme://[user:pass@]host[:port][/prefix] without a trailing slash; request
  // paths are appended to it verbatim (callers percent-encode path segments).
  explicit HttpClient(std::string base_url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `method` is GET, POST, PUT, DELETE, ... A non-empty body is sent with
  // "Content-Type: application/json".
  Result<HttpResponse> request(std::string_view method, std::string_view path,
                               std::string_view body = {});

  const std::string& base_url() const { return base_url_; }
  // base_url() with any user:password removed, for messages and logs.
  const std::string& redacted_base_url() const { return redacted_base_url_; }

 private:
  // CURL* is `void*` in libcurl's own API, so the pool stores plain void pointers.
  void* acquire_handle();
  void release_handle(void* handle);

  std::string base_url_;
  std::string redacted_base_url_;
  HttpClientOptions options_;
  // Built once, only read afterwards, so all handles may share them.
  curl_slist* headers_plain_ = nullptr;
  curl_slist* headers_json_ = nullptr;

  std::mutex pool_mutex_;
  std::vector<void*> pool_;  // idle CURL* easy handles (each keeps its live connections)
};

}  // namespace cm
