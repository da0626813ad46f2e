#include "common/chroma/http_client.hpp"

#include <curl/curl.h>

#include <exception>
#include <mutex>
#include <new>

namespace cm {
namespace {

// More idle handles than this are closed instead of pooled: a burst of threads should not leave
// dozens of idle keep-alive connections open forever.
constexpr std::size_t kMaxIdleHandles = 32;

void global_init_once() {
  static std::once_flag once;
  // curl_global_init is not thread-safe and must run before any other thread uses curl.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "scheme://user:pass@host/..." -> "scheme://host/...": credentials never reach messages.
std::string strip_userinfo(const std::string& url) {
  auto scheme_end = url.find("://");
  std::size_t authority = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto slash = url.find('/', authority);
  auto at = url.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + url.substr(at + 1);
}

struct BodySink {
  CURL* curl;
  std::string* body;
};

size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  try {
    if (sink->body->empty()) {
      // Reserve the announced length once: get answers run to several MB and growing by
      // doubling would copy them a few times over.
      curl_off_t length = -1;
      if (curl_easy_getinfo(sink->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
          length > 0 && length < (curl_off_t{1} << 31)) {
        sink->body->reserve(static_cast<std::size_t>(length));
      }
    }
    sink->body->append(data, size * count);
    return size * count;
  } catch (...) {
    return 0;  // curl turns a short write into CURLE_WRITE_ERROR
  }
}

ErrorCode classify(CURLcode code) {
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return ErrorCode::kInvalidArgument;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_LOGIN_DENIED:
      return ErrorCode::kInvalidArgument;  // the user must fix TLS or credentials: no retry helps
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR:
    case CURLE_FAILED_INIT:
      return ErrorCode::kInternal;
    default:
      // Connection refused/reset, DNS, timeouts, partial transfers, empty replies, send/recv
      // errors, HTTP/2 stream resets: the network or the server hiccupped; retrying may help.
      return ErrorCode::kTransient;
  }
}

}  // namespace

HttpClient::HttpClient(std::string base_url, HttpClientOptions options)
    : base_url_(std::move(base_url)),
      redacted_base_url_(strip_userinfo(base_url_)),
      options_(std::move(options)) {
  global_init_once();
  // "Expect:" stops curl from waiting for "100 Continue" before sending large bodies, which
  // costs a round trip (or a 1 s stall against servers that never send it) per upsert.
  headers_plain_ = curl_slist_append(headers_plain_, "Expect:");
  for (const auto& h : options_.headers)
    headers_plain_ = curl_slist_append(headers_plain_, h.c_str());
  headers_json_ = curl_slist_append(headers_json_, "Content-Type: application/json");
  headers_json_ = curl_slist_append(headers_json_, "Expect:");
  for (const auto& h : options_.headers)
    headers_json_ = curl_slist_append(headers_json_, h.c_str());
}

HttpClient::~HttpClient() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
  curl_slist_free_all(headers_plain_);
  curl_slist_free_all(headers_json_);
}

void* HttpClient::acquire_handle() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::release_handle(void* handle) {
  {
    std::lock_guard lock(pool_mutex_);
    if (pool_.size() < kMaxIdleHandles) {
      try {
        pool_.push_back(handle);
        return;
      } catch (const std::bad_alloc&) {
        // fall through: close it instead
      }
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view path,
                                         std::string_view body) {
  const std::string url = base_url_ + std::string(path);
  const std::string shown_url = redacted_base_url_ + std::string(path);
  const std::string what = std::string(method) + " " + shown_url;
  // Gives the handle back to the pool on every return path.
  struct Lease {
    HttpClient* client;
    void* handle;
    ~Lease() {
      if (handle) client->release_handle(handle);
    }
  } lease{this, acquire_handle()};
  CURL* curl = lease.handle;
  if (!curl) return make_error(ErrorCode::kInternal, what + ": curl_easy_init failed");

  // Reset clears the options of the previous request but keeps the live connections.
  curl_easy_reset(curl);
  char error_text[CURL_ERROR_SIZE] = {0};
  HttpResponse response;
  const std::string method_s(method);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: threads are in use
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  BodySink sink{curl, &response.body};
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, body.empty() ? headers_plain_ : headers_json_);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    // POSTFIELDS does not copy: `body` outlives curl_easy_perform below.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_s.c_str());
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_s.c_str());
  }

  CURLcode rc = curl_easy_perform(curl);
  // The handle goes back to the pool: it must not keep pointers into this stack frame.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  if (rc != CURLE_OK) {
    std::string detail = error_text[0] ? error_text : curl_easy_strerror(rc);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    return make_error(classify(rc), what + " failed: " + detail);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace cm
