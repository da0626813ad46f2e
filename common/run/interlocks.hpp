// Safety interlocks: decide, before anything connects for writing, whether this run may write to
// its target at all.
//
//   --target-env test|working (or MIGRATION_TARGET): what the operator says the target is.
//   working requires MIGRATION_CONFIRM=I_ACKNOWLEDGE_WORKING_MUTATION, exactly.
//   --targets-file FILE (or MIGRATION_TARGETS_FILE): {"working": [URI, ...]} names the stores that
//   are working (production); a run that calls itself "test" but points at one is refused.
// A URI in the targets file matches the target when scheme://host:port agree and, if the entry
// names a tenant/database, those agree too (an entry without them covers the whole server).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/base/enum_names.hpp"
#include "common/base/error.hpp"
#include "common/store/uri.hpp"

namespace cm {

inline constexpr const char* kWorkingConfirmation = "I_ACKNOWLEDGE_WORKING_MUTATION";

// What the operator says the target is (--target-env, run.json's target_kind).
enum class TargetKind { kTest, kWorking };
template <>
struct EnumNames<TargetKind> {
  static constexpr std::pair<TargetKind, const char*> kNames[] = {
      {TargetKind::kTest, "test"}, {TargetKind::kWorking, "working"}};
};

// --target-env / MIGRATION_TARGET as given ("" = not given: nullopt); kInvalidArgument for
// anything but test or working.
Result<std::optional<TargetKind>> parse_target_env(const std::string& text);

struct InterlockInput {
  std::optional<TargetKind> target_env;     // nullopt = not given: treated as test
  std::optional<std::string> confirmation;  // MIGRATION_CONFIRM
  std::filesystem::path targets_file;       // "" = none
  StoreUri target;
  bool dry_run = false;  // a dry run never writes: no confirmation needed
};

struct InterlockDecision {
  TargetKind target_kind = TargetKind::kTest;
  bool listed_as_working = false;
};

// kInvalidArgument for a bad --target-env or an unreadable/malformed targets file; kRefused when
// the run may not write to this target (the message says how to proceed deliberately).
Result<InterlockDecision> check_interlocks(const InterlockInput& input);

}  // namespace cm
