#include "common/base/logging.hpp"

#include <sys/stat.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"

namespace cm {
namespace {

std::shared_ptr<spdlog::sinks::sink> console_sink(bool verbose, bool quiet) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_level(quiet     ? spdlog::level::warn
                  : verbose ? spdlog::level::debug
                            : spdlog::level::info);
  sink->set_pattern("%^%Y-%m-%d %H:%M:%S %L%$ %v");
  return sink;
}

}  // namespace

void init_console_logging(const std::string& program) {
  auto logger = std::make_shared<spdlog::logger>(program, console_sink(false, false));
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

Status init_logging(const std::string& program, const LogOptions& options) {
  std::vector<spdlog::sink_ptr> sinks{console_sink(options.verbose, options.quiet)};
  if (!options.file.empty()) {
    CM_RETURN_IF_ERROR(ensure_directory(options.file.parent_path()));
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file.string());
      ::chmod(options.file.c_str(), 0600);  // fopen() honours only the umask; logs name data
      file->set_level(spdlog::level::debug);
      file->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%n] [%l] [t%t] %v");
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      return make_error(ErrorCode::kIo,
                        "cannot open log file " + options.file.string() + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>(program, sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return ok_status();
}

}  // namespace cm
