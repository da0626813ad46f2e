// Errors as values. Library code returns Result<T> / Status; only the binaries' main() turn an
// Error into an exit code and a user message (see common/cli/exit_codes.hpp).
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace cm {

enum class ErrorCode {
  kInvalidArgument,  // bad flag, URI, file content: the user must change the input
  kNotFound,         // a collection, file or record that should exist does not
  kAlreadyExists,    // refusing to overwrite something that exists
  kTransient,        // connection refused/reset, timeout, HTTP 429 or 5xx: worth retrying
  kRejected,    // the server refused the request (HTTP 4xx other than 429): retrying will not help
  kProtocol,    // the server answered something we cannot parse
  kCorruption,  // a file does not match its digest or format
  kIo,          // local file system failure
  kConfigMismatch,     // a resume with a configuration that differs from the checkpoint's
  kVerifyFailed,       // the data after a phase is not what it should be
  kCancelled,          // stopped by a signal or by an injected fault
  kContractViolation,  // the data does not meet the migration contract
  kRefused,            // a safety interlock refused the run (target kind, confirmation)
  kInternal,           // a bug: an invariant did not hold
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  int http_status = 0;  // set when the error came from an HTTP answer

  // Prefixes context ("exporting collection X: ") so the final message reads as a path to the
  // cause.
  Error&& with_context(const std::string& context) && {
    message = context + ": " + message;
    return std::move(*this);
  }
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> make_error(ErrorCode code, std::string message, int http_status = 0) {
  return std::unexpected<Error>(Error{code, std::move(message), http_status});
}

inline Status ok_status() {
  return {};
}

inline bool is_transient(const Error& e) {
  return e.code == ErrorCode::kTransient;
}

}  // namespace cm

// Propagates an error from an expression returning Result/Status; binds nothing. The temporary's
// name carries the line number so nested uses (a lambda inside the expression) do not shadow.
#define CM_CONCAT_INNER(a, b) a##b
#define CM_CONCAT(a, b) CM_CONCAT_INNER(a, b)
#define CM_RETURN_IF_ERROR(expr) CM_RETURN_IF_ERROR_IMPL(CM_CONCAT(cm_status_, __LINE__), expr)
#define CM_RETURN_IF_ERROR_IMPL(tmp, expr)            \
  do {                                                \
    if (auto tmp = (expr); !tmp) {                    \
      return std::unexpected(std::move(tmp).error()); \
    }                                                 \
  } while (0)

// Evaluates a Result<T> expression, returns its error or moves its value into `lhs`.
#define CM_ASSIGN_OR_RETURN(lhs, expr) \
  CM_ASSIGN_OR_RETURN_IMPL(CM_CONCAT(cm_result_, __LINE__), lhs, expr)
#define CM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)            \
  auto tmp = (expr);                                        \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
