// Catch-up of a live source: chroma-migrate --sync --work-dir DIR.
//
// A finished run (in place or staged, before or after its cutover) holds, in its work directory,
// the source as it was read (snapshots/source) and what the run wrote (the import snapshot:
// snapshots/source, or snapshots/transformed with a mapping). A sync finds every change the
// source took since (added, changed and deleted records) and applies it:
//   1. per source collection, the source's ids are paged (fuzzy, like the export's scan) and every
//      record is read, a batch at a time, and compared by record digest with the snapshot's copy:
//      a change to the vector alone is found too;
//   2. ids the snapshot holds that the scan did not list are deletion candidates, confirmed by a
//      get by id at the source (offset paging under writes can skip ids that still exist);
//   3. each batch's changes go through the run's transform (identity, or the mapping, which may
//      route a changed record to another target collection: its old copy is then deleted) to the
//      run's target collections where its data lives now (staging or live), with the merge
//      write (common to the import: no stale metadata key, document or uri survives), then into
//      a new delta generation of each snapshot (snapshot_delta.hpp; the snapshots themselves
//      are never rewritten), committed at the end. Target first: a crash (kill -9) anywhere
//      leaves the snapshots behind the target, and the next --sync finds the rest again, sees
//      what already landed (sync_screen.hpp) and applies what did not, so a sync needs no
//      checkpoint of its own;
//   4. a second ids-only scan compares the source's ids with the snapshot's (count and a hash of
//      the id set): equal means the sync converged (the source was quiet enough); the final sync
//      before a cutover is taken on a quiet source and must converge.
// Before any target write, the target's current version of each record is compared with what the
// run wrote there last (sync_screen.hpp): a record someone else changed since is never replaced or
// deleted; the sync reports it as a conflict (exit 9 after applying everything else).
// Each sync is recorded in run.json (generation, time, seconds, per-collection delta, converged),
// every target write is audited, and the targets' expected_records follow the snapshots.
// Memory: one 8-byte hash per source id, plus one batch.
//
// --sync --dry-run reads the same way and prints the delta; it writes nothing anywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/run/source_diff.hpp"
#include "migrate/cutover.hpp"

namespace cm::migrate {

struct SyncOptions {
  CutoverOptions run;          // work dir, target, tokens, retries, interlocks, logging
  std::string source_uri;      // --source; default: run.json's (unless redacted)
  std::size_t batch_size = 0;  // 0: the run's
  bool dry_run = false;
  bool final = false;      // the last sync before --cutover (recorded as such in run.json)
  double source_rate = 0;  // --source-rate: source records read per second (0: no limit)
};

// --cutover's final sync: at most this many changes may be applied unvalidated (default of
// --max-final-sync); a final sync that applies more refuses the cutover (validate again).
inline constexpr std::uint64_t kDefaultMaxFinalSync = 1000;

struct CollectionDelta : SourceDiffCounts {
  std::string source_collection;
  // Source changes not applied because a target record they would touch was changed by someone
  // else since the run wrote it (sync_screen.hpp); "<target collection>/<id>" samples.
  std::uint64_t conflicts = 0;
  std::vector<std::string> conflict_samples;
};

struct SyncSummary {
  std::string run_id;
  std::uint64_t generation = 0;  // 1 for the first sync; 0 for a dry run
  std::vector<CollectionDelta> collections;
  bool converged = false;  // the second scan agreed with the snapshot, and nothing conflicted
  bool dry_run = false;
  double seconds = 0;
  // migration_summary.html, re-rendered with this sync (nullopt: the run has no summary, or a
  // warning said why not).
  std::optional<std::filesystem::path> html_page;
  std::uint64_t total() const;      // changes found
  std::uint64_t conflicts() const;  // of those, left unapplied (conflicts)
};

Result<SyncSummary> run_sync(const SyncOptions& options);

// Whether --cutover starts with a final sync: a staged run whose cutover has not started (a
// cutover being completed after a crash, or refused for its state, syncs nothing first).
bool final_sync_applies(const std::filesystem::path& work_dir);

}  // namespace cm::migrate
