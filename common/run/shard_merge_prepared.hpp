// The merged work dir of prepared shards (run.json "prepared": the shards of a run with
// --if-exists merge|replace whose one backup chroma-migrate --prepare took; common/run/
// prepare_record.hpp). Part of merge_shard_work_dirs (shard_merge.hpp): the prepared dir's backup
// becomes the merged run's backup, so chroma-rollback restores the pre-run target from it and
// chroma-validate tells a merged collection's pre-run ids (retained) from the run's, with their
// usual code.
#pragma once

#include "common/base/error.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"

namespace cm {

// When `m.prepared` names a prepared dir: checks its record (checksum, state ready, the run id),
// copies its backup snapshot into `merged`'s snapshots/backup (a temp dir renamed into place) and
// verifies the copy, records it in m.backup, and sets each merged collection's expected records to
// the union of the backup's ids and the merged import snapshot's (which must be in `merged`
// already). A no-op for unprepared runs. Errors: kNotFound when the prepared dir is not readable at
// the path the shards recorded (copy it there first), kCorruption for a bad record or backup.
Status adopt_prepared_backup(RunManifest& m, const WorkDir& merged);

}  // namespace cm
