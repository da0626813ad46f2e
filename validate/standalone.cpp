#include "validate/standalone.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/run/work_dir.hpp"

extern char** environ;

namespace cm::validate {
namespace {

// chroma-migrate from the same build or installation as this binary.
Result<std::filesystem::path> sibling_migrate() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return make_error(ErrorCode::kInternal, "cannot find this binary: " + ec.message());
  auto bin = self.parent_path() / "chroma-migrate";
  if (::access(bin.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kInternal,
                      "standalone validation runs chroma-migrate, which is not beside this "
                      "binary (" +
                          bin.string() + ")");
  }
  return bin;
}

// Runs `argv` with this process's stdio and environment; its exit code (128 + signal if killed).
Result<int> run_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (const int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
      rc != 0) {
    return make_error(ErrorCode::kIo, "cannot start " + args[0] + ": " + std::strerror(rc));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(ErrorCode::kIo, "waiting for " + args[0] + " failed");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Result<StandaloneWorkDir> make_work_dir(const std::filesystem::path& requested) {
  if (requested.empty()) {
    std::string templ = (std::filesystem::current_path() / "chroma-validate-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return make_error(ErrorCode::kIo,
                        "cannot create a work directory in the current directory (" +
                            std::string(std::strerror(errno)) + "); give one with --work-dir");
    }
    return StandaloneWorkDir(templ, true);
  }
  if (std::filesystem::exists(WorkDir(requested).run_manifest())) {
    return make_error(ErrorCode::kInvalidArgument,
                      requested.string() +
                          " already holds a run: validate it without --source/--target "
                          "(chroma-validate --work-dir " +
                          requested.string() + "), or give a new --work-dir");
  }
  return StandaloneWorkDir(requested, false);
}

}  // namespace

StandaloneWorkDir::StandaloneWorkDir(StandaloneWorkDir&& other) noexcept
    : dir_(std::move(other.dir_)), temporary_(std::exchange(other.temporary_, false)) {}

StandaloneWorkDir::~StandaloneWorkDir() {
  if (!temporary_) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);  // only ever a directory this process created
}

Result<StandaloneWorkDir> build_reference(const StandaloneRequest& request) {
  for (const auto* file : {&request.mapping, &request.contract}) {
    if (!file->empty() && !std::filesystem::is_regular_file(*file)) {
      return make_error(ErrorCode::kInvalidArgument, file->string() + " does not exist");
    }
  }
  CM_ASSIGN_OR_RETURN(const auto migrate, sibling_migrate());
  CM_ASSIGN_OR_RETURN(StandaloneWorkDir dir, make_work_dir(request.work_dir));
  const WorkDir work(dir.path());
  std::vector<std::string> args{migrate.string(),
                                "--source",
                                request.source_uri,
                                "--target",
                                "snapshot:" + (dir.path() / "reference").string(),
                                "--work-dir",
                                dir.path().string(),
                                request.verbose ? "-v" : "-q"};
  if (!request.mapping.empty()) {
    args.insert(args.end(), {"--mapping", request.mapping.string()});
  }
  spdlog::info("reading the source into {} (chroma-migrate into a snapshot target)",
               dir.path().string());
  CM_ASSIGN_OR_RETURN(const int code, run_child(args));
  if (code != 0) {
    dir.keep();
    return make_error(ErrorCode::kIo, "reading the source failed: chroma-migrate exited " +
                                          std::to_string(code) + "; its log is under " +
                                          work.root().string() + " (kept)");
  }
  if (!request.contract.empty()) {
    // Where a run keeps the contract it was given: the validator reads it from there. Not given
    // to chroma-migrate, whose preflight would refuse a violating source instead of reporting it.
    CM_ASSIGN_OR_RETURN(const auto text, read_file(request.contract));
    CM_RETURN_IF_ERROR(ensure_directory(work.contract_copy().parent_path()));
    CM_RETURN_IF_ERROR(write_file_atomic(work.contract_copy(), text));
  }
  return dir;
}

}  // namespace cm::validate
