#include "tests/support/fake_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <curl/curl.h>

namespace cm::testing {
namespace {

constexpr int kPollMs = 20;  // how quickly blocked threads notice a stop

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    // MSG_NOSIGNAL: the client may have given up (timeout tests) and closed the socket.
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

FakeHttpServer::FakeHttpServer(std::vector<CannedResponse> script)
    : script_(script.begin(), script.end()) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  // The acceptor has stopped, so workers_ no longer grows.
  for (auto& t : workers_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void FakeHttpServer::push(CannedResponse response) {
  std::lock_guard lock(mutex_);
  script_.push_back(std::move(response));
}

void FakeHttpServer::set_fallback(CannedResponse response) {
  std::lock_guard lock(mutex_);
  fallback_ = std::move(response);
}

void FakeHttpServer::require_token(std::string token) {
  std::lock_guard lock(mutex_);
  required_token_ = std::move(token);
}

void FakeHttpServer::forward_to(std::string upstream) {
  std::lock_guard lock(mutex_);
  upstream_ = std::move(upstream);
}

CannedResponse FakeHttpServer::forward(const SeenRequest& request,
                                       const std::string& upstream) const {
  CannedResponse out{502, R"({"error":"fake proxy: upstream failed"})",
                     std::chrono::milliseconds(0), false};
  CURL* curl = curl_easy_init();
  if (!curl) return out;
  const std::string url = upstream + request.path;
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* sink) -> size_t {
        static_cast<std::string*>(sink)->append(data, size * n);
        return size * n;
      });
  if (curl_easy_perform(curl) == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    out.status = static_cast<int>(status);
    out.body = std::move(body);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

std::vector<SeenRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

CannedResponse FakeHttpServer::next_response() {
  std::lock_guard lock(mutex_);
  if (script_.empty()) return fallback_;
  CannedResponse r = std::move(script_.front());
  script_.pop_front();
  return r;
}

bool FakeHttpServer::wait_for(std::chrono::milliseconds d) {
  auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stopping_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return !stopping_;
}

void FakeHttpServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] { serve_connection(fd); });
  }
}

void FakeHttpServer::serve_connection(int fd) {
  std::string buffer;
  // Reads until `buffer` holds at least `size` bytes; false on EOF, error or stop.
  auto fill = [&](std::size_t size) {
    char chunk[16384];
    while (buffer.size() < size) {
      if (stopping_) return false;
      pollfd p{fd, POLLIN, 0};
      int ready = ::poll(&p, 1, kPollMs);
      if (ready < 0) return false;
      if (ready == 0) continue;
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  };
  while (!stopping_) {
    std::size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(buffer.size() + 1)) {
        ::close(fd);
        return;
      }
    }
    SeenRequest request;
    std::string head = buffer.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    auto sp1 = request_line.find(' ');
    auto sp2 = request_line.find(' ', sp1 + 1);
    request.method = request_line.substr(0, sp1);
    request.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t content_length = 0;
    for (std::size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
      std::size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      if (auto colon = line.find(':'); colon != std::string::npos) {
        std::string name = lower(line.substr(0, colon));
        request.headers[name] = trim(line.substr(colon + 1));
        if (name == "content-length") content_length = std::stoul(request.headers[name]);
      }
      pos = next;
    }
    const std::size_t total = header_end + 4 + content_length;
    if (!fill(total)) {
      ::close(fd);
      return;
    }
    request.body = buffer.substr(header_end + 4, content_length);
    buffer.erase(0, total);
    bool authorised = true;
    std::string upstream;
    std::optional<SeenRequest> to_forward;
    {
      std::lock_guard lock(mutex_);
      if (required_token_) {
        const auto it = request.headers.find("x-chroma-token");
        authorised = it != request.headers.end() && it->second == *required_token_;
      }
      upstream = upstream_;
      if (authorised && !upstream.empty()) to_forward = request;
      seen_.push_back(std::move(request));
    }
    CannedResponse response =
        !authorised  ? CannedResponse{401, R"({"error":"AuthError","message":"fake: bad token"})",
                                     std::chrono::milliseconds(0), false}
        : to_forward ? forward(*to_forward, upstream)
                     : next_response();
    if (response.delay.count() > 0 && !wait_for(response.delay)) break;
    if (response.close_without_answer) break;
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                      reason_phrase(response.status) +
                      "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(response.body.size()) + "\r\n\r\n" + response.body;
    if (!send_all(fd, out)) break;
  }
  ::close(fd);
}

}  // namespace cm::testing
