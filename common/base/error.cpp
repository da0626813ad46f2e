#include "common/base/error.hpp"

namespace cm {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kTransient:
      return "transient failure";
    case ErrorCode::kRejected:
      return "rejected by server";
    case ErrorCode::kProtocol:
      return "protocol error";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kConfigMismatch:
      return "configuration mismatch";
    case ErrorCode::kVerifyFailed:
      return "verification failed";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kContractViolation:
      return "contract violation";
    case ErrorCode::kRefused:
      return "refused by safety interlock";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

}  // namespace cm
