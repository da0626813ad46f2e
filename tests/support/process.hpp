// Runs a binary of this project as a child process, the way an operator would, so tests see real
// exit codes and real SIGKILLs.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cm::testing {

struct ProcessResult {
  int exit_code = -1;  // valid when !signaled
  bool signaled = false;
  int signal = 0;
  std::string output;  // stdout + stderr
};

// Runs `binary args...` with extra environment variables; output captured. `while_running` (if
// set) is called repeatedly with the child's pid until the child exits (used to kill it mid-run).
ProcessResult run_process(const std::string& binary, const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {},
                          const std::function<void(pid_t)>& while_running = {});

}  // namespace cm::testing
