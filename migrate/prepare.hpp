// chroma-migrate --prepare --shards N --run-id R --if-exists merge|replace ... --work-dir DP: the
// step a sharded run that writes into existing target collections runs once, before its shards
// (README: sharded runs). It plans the target collections exactly as a shard does (same flags,
// same mapping), backs up every existing one the run will merge into or replace into
// DP/snapshots/backup (sealed, verified), and records each one's server id, record count and
// content digest with the run id and configuration hash in DP/prepared.json
// (common/run/prepare_record.hpp). For replace it then drops each backed-up collection once,
// pinned by id and content (common/run/collection_identity.hpp): the shards find the name free
// and create it as create-only shards do. Only then is the record marked ready; the shards
// (--prepared DP) refuse any other state. With --stage (replace only) nothing is dropped: the
// record says staged, the shards (--stage --prepared DP) build the staged collections beside the
// live names, and the shards' --cutover retains the live collections (checked against the ids
// backed up here), --finalize drops them pinned by id and content.
//
// Resumable: a re-run with the same flags finishes the drops of a record left backed_up, and
// reports a ready record as done. Before the record exists nothing on the target was changed, so
// a partial backup is started over.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/base/error.hpp"
#include "migrate/migrate_options.hpp"

namespace cm::migrate {

struct PrepareSummary {
  std::string run_id;
  std::filesystem::path dir;
  bool staged = false;        // --stage: nothing dropped (the cutover retains the live ones)
  std::size_t backed_up = 0;  // collections backed up
  std::size_t dropped = 0;    // of them, dropped for replace
  std::uint64_t records = 0;  // records in the backup
  bool already_ready = false;
};

// `o`: the shards' options without a shard (o.work_dir is the prepared dir); `shards`: their N.
// Errors: kInvalidArgument (exit 2) for flags --prepare does not take or lacks; the backup's and
// the pinned delete's errors (exit 9 when a collection changed between backup and drop).
Result<PrepareSummary> run_prepare(const MigrateOptions& o, std::uint32_t shards);

}  // namespace cm::migrate
