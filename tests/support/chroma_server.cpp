#include "tests/support/chroma_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include <curl/curl.h>

#ifndef CHROMA_SERVER_BIN
#define CHROMA_SERVER_BIN "chroma"
#endif

namespace cm::testing {
namespace {

bool heartbeat_ok(int port) {
  CURL* curl = curl_easy_init();
  if (!curl) return false;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/api/v2/heartbeat";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; });
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK && status == 200;
}

void stop_process(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {  // up to ~5 s for a clean stop
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

int find_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  char* made = ::mkdtemp(templ.data());
  return made ? std::filesystem::path(made) : std::filesystem::path();
}

std::string server_bin() {
  const char* env_bin = std::getenv("CHROMA_SERVER_BIN");
  return env_bin && *env_bin ? env_bin : CHROMA_SERVER_BIN;
}

Status ChromaServer::spawn_and_wait(const std::string& bin) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto log = (data_dir_ / "server.log").string();
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setpgid(0, 0);
    std::string port_s = std::to_string(port_), path_s = (data_dir_ / "data").string();
    ::execl(bin.c_str(), bin.c_str(), "run", "--path", path_s.c_str(), "--port", port_s.c_str(),
            "--host", "127.0.0.1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  // Readiness probe: poll the heartbeat until it answers or the process dies (bounded: 60 s).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (heartbeat_ok(port_)) return ok_status();
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid_ = -1;
      return make_error(ErrorCode::kTransient,
                        "Chroma exited before answering its heartbeat; see " +
                            (data_dir_ / "server.log").string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return make_error(ErrorCode::kVerifyFailed,
                    "Chroma did not answer its heartbeat within 60 s; see " +
                        (data_dir_ / "server.log").string());
}

Result<std::unique_ptr<ChromaServer>> ChromaServer::start() {
  const std::string bin = server_bin();
  if (::access(bin.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kNotFound,
                      "Chroma server not found at " + bin + ": run scripts/install-deps.sh first");
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto server = std::unique_ptr<ChromaServer>(
        new ChromaServer(-1, find_free_port(), make_temp_dir("chroma-test")));
    Status up = server->spawn_and_wait(bin);
    if (up) return server;
    if (up.error().code != ErrorCode::kTransient) return std::unexpected(up.error());
    // The port was probably taken between find_free_port() and the bind: try another.
  }
  return make_error(ErrorCode::kTransient, "Chroma server failed to start three times");
}

void ChromaServer::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ChromaServer::stop() {
  stop_process(pid_);
  pid_ = -1;
}

Status ChromaServer::restart() {
  kill_hard();
  Status up = make_error(ErrorCode::kTransient, "not started");
  // The killed server's listening socket is gone with it; a start can still lose the port to a
  // lingering connection for a moment: a few tries, each bounded by its own readiness probe.
  for (int attempt = 0; attempt < 5 && !up && up.error().code == ErrorCode::kTransient; ++attempt)
    up = spawn_and_wait(server_bin());
  return up;
}

ChromaServer::~ChromaServer() {
  stop_process(pid_);
  std::error_code ec;
  if (!std::getenv("CM_KEEP_TEST_DIRS")) std::filesystem::remove_all(data_dir_, ec);
}

}  // namespace cm::testing
