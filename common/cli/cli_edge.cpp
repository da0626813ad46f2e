#include "common/cli/cli_edge.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include <spdlog/spdlog.h>

namespace cm {
namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

}  // namespace

int fail(const Error& error) {
  spdlog::error("{}", error.message);
  const int code = exit_code_for(error);
  spdlog::error("exit {} ({})", code, error_code_name(error.code));
  return code;
}

CliEnvironment cli_environment() {
  CliEnvironment env;
  for (auto [name, slot] : {std::pair{"CHROMA_TOKEN", &env.tokens.shared},
                            std::pair{"CHROMA_SOURCE_TOKEN", &env.tokens.source},
                            std::pair{"CHROMA_TARGET_TOKEN", &env.tokens.target}}) {
    if (const char* token = std::getenv(name); token && *token) *slot = token;
  }
  env.fault_spec = env_or_empty("CHROMA_MIGRATE_FAULTS");
  if (const char* confirm = std::getenv("MIGRATION_CONFIRM")) env.confirmation = confirm;
  env.target_env = env_or_empty("MIGRATION_TARGET");
  env.targets_file = env_or_empty("MIGRATION_TARGETS_FILE");
  return env;
}

int run_cli(const char* program, int (*run)(int, char**), int argc, char** argv,
            int internal_code) {
  ::umask(077);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", program, e.what());
    return internal_code;
  } catch (...) {
    std::fprintf(stderr, "%s: internal error: an exception that is not a std::exception\n",
                 program);
    return internal_code;
  }
}

}  // namespace cm
