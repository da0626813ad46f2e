// Logging for the binaries: one spdlog logger writing to stderr (info, or debug with --verbose) and
// to a log file in the work directory (always debug), so a night run can be read in the morning.
#pragma once

#include <filesystem>
#include <string>

#include "common/base/error.hpp"

namespace cm {

struct LogOptions {
  std::filesystem::path file;  // empty: console only
  bool verbose = false;
  bool quiet = false;  // warnings and errors only on the console
};

Status init_logging(const std::string& program, const LogOptions& options);
// Console-only logging before a work directory is known (flag errors, --help).
void init_console_logging(const std::string& program);

}  // namespace cm
