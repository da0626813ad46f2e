#include "common/cli/exit_codes.hpp"

namespace cm {

int exit_code_for(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kConfigMismatch:
      return kExitConfigMismatch;
    case ErrorCode::kTransient:
      return kExitUnavailable;
    case ErrorCode::kRejected:
    case ErrorCode::kProtocol:
      return kExitRejected;
    case ErrorCode::kVerifyFailed:
      return kExitVerifyFailed;
    case ErrorCode::kCorruption:
      return kExitCorruption;
    case ErrorCode::kIo:
      return kExitIo;
    case ErrorCode::kAlreadyExists:
      return kExitConflict;
    case ErrorCode::kNotFound:
      return kExitUsage;
    case ErrorCode::kCancelled:
      return kExitInterrupted;
    case ErrorCode::kContractViolation:
      return kExitContractViolation;
    case ErrorCode::kRefused:
      return kExitRefused;
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace cm
