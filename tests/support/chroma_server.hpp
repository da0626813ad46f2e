// A real, throw-away Chroma server for integration tests: a fresh data directory, a free loopback
// port, readiness = /api/v2/heartbeat answering 200. Stopped (SIGTERM, then SIGKILL) and its
// directory removed on destruction.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/base/error.hpp"

namespace cm::testing {

class ChromaServer {
 public:
  // Uses CHROMA_SERVER_BIN from the environment if set, else the path CMake baked in.
  static Result<std::unique_ptr<ChromaServer>> start();
  ~ChromaServer();
  ChromaServer(const ChromaServer&) = delete;
  ChromaServer& operator=(const ChromaServer&) = delete;

  // SIGKILL, as a crash or the OOM killer would: nothing flushed, nothing shut down.
  void kill_hard();
  // SIGTERM and wait for the exit (SIGKILL after ~5 s), as an operator stops a server; the data
  // directory stays (removed by the destructor as usual).
  void stop();
  // The directory `chroma run --path` was given: the persist directory.
  std::filesystem::path persist_dir() const { return data_dir_ / "data"; }
  // Starts the server again on the same port and data directory (after kill_hard) and waits for
  // its heartbeat; retries the start while the old socket still holds the port.
  Status restart();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  ChromaServer(pid_t pid, int port, std::filesystem::path dir)
      : pid_(pid), port_(port), data_dir_(std::move(dir)) {}
  // Forks the server on port_ with data_dir_ (its log appended to data_dir_/server.log), then
  // polls the heartbeat: kOk when it answers, kTransient when the process exited first (port
  // taken) or 60 s passed.
  Status spawn_and_wait(const std::string& bin);
  pid_t pid_;
  int port_;
  std::filesystem::path data_dir_;
};

// A free TCP port on 127.0.0.1 (bound then released; callers retry if another process takes it).
int find_free_port();
// A fresh directory under the system temp dir, removed by the caller.
std::filesystem::path make_temp_dir(const std::string& prefix);

}  // namespace cm::testing
