// Everything a chroma-migrate invocation was asked to do, after flag parsing.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/base/enum_names.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/shard.hpp"
#include "common/run/store_factory.hpp"
#include "common/store/store_decorators.hpp"
#include "common/store/uri.hpp"

namespace cm::migrate {

// --if-exists: what to do with a target collection that exists already.
enum class IfExists { kFail, kReplace, kMerge };

}  // namespace cm::migrate

namespace cm {
template <>
struct EnumNames<migrate::IfExists> {
  static constexpr std::pair<migrate::IfExists, const char*> kNames[] = {
      {migrate::IfExists::kFail, "fail"},
      {migrate::IfExists::kReplace, "replace"},
      {migrate::IfExists::kMerge, "merge"}};
};
}  // namespace cm

namespace cm::migrate {

struct MigrateOptions {
  StoreUri source;
  StoreUri target;
  std::filesystem::path work_dir;
  std::vector<std::string> collections;  // empty: every collection of the source
  std::size_t batch_size = 1000;         // clamped to both stores' max_batch_size
  std::size_t workers = 2;               // requests in flight
  // --source-rate: at most this many source records read per second (0: no limit). Pacing only:
  // not part of the run's configuration, so a resume may change it.
  double source_rate = 0;
  bool resume = false;
  std::string run_id;  // generated when empty
  StoreTokens tokens;  // as read from the environment (resolved per store by the run)
  RetryPolicy retry;
  std::string fault_spec;  // CHROMA_MIGRATE_FAULTS (tests only)
  bool verbose = false;
  bool quiet = false;

  // Transform and contract (contracts/README.md).
  std::filesystem::path mapping_file;   // empty: identity (each collection to one of the same name)
  std::filesystem::path contract_file;  // empty: no contract checks
  bool allow_contract_drift = false;    // proceed despite findings; logged and recorded

  // Safety interlocks (common/run/interlocks.hpp).
  std::optional<TargetKind> target_env;     // --target-env or MIGRATION_TARGET
  std::optional<std::string> confirmation;  // MIGRATION_CONFIRM
  std::filesystem::path targets_file;       // --targets-file or MIGRATION_TARGETS_FILE

  bool dry_run = false;  // export, transform, preflight, write the plan; no target writes
  IfExists if_exists = IfExists::kFail;  // for target collections that exist
  // Import into staging collections (staging_name_for) and leave the live names serving until
  // `--cutover` swaps them in (migrate/cutover.hpp).
  bool stage = false;
  // A persist-directory source with records whose vector is lost (migrate/lost_vectors.hpp):
  // migrate the rest and list them as unrecoverable at the source, instead of refusing (exit 7).
  bool allow_missing_vectors = false;
  // Import each exported part while the export goes on, where allowed (migrate/import_stream.hpp);
  // --no-pipeline: export and seal everything first, as a run with a mapping or contract does.
  bool pipeline = true;
  // --shard I/N (or --shards N with the scheduler's index): this process migrates only the records
  // shard I owns (common/run/shard.hpp). Part of the run's configuration: a resume with another
  // shard is refused. Sharded runs need --run-id (the shards share it) and write only collections
  // that do not exist before the run, unless prepared (prepared_dir; validate_options).
  std::optional<ShardSpec> shard;
  // --prepared DIR: the dir of this run's `chroma-migrate --prepare` (migrate/prepare.hpp), which
  // backed up (and for replace dropped) the live target collections once for every shard. Needed
  // by a shard with --if-exists merge|replace; the shard takes no backup of its own.
  std::filesystem::path prepared_dir;
};

}  // namespace cm::migrate
