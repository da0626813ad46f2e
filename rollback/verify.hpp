// The final proof of a rollback, read-only:
//   - every live name that must serve its pre-run data equals the backup: count, hnsw
//     configuration, collection metadata, and every record (id, document, uri, metadata exactly;
//     the embedding under common/store/embedding_compare.hpp, since cosine vectors come back within
//     1-2 ulp);
//   - pre-run collections the run never wrote are still there, the same collection as backed up
//     (id); their content is not compared, since live traffic may have written to them;
//   - merged collections (restored in place) are still the same collection (id) with the backup's
//     collection metadata and configuration, and hold no record the run added or overwrote: every
//     record is the backup's or someone else's, kept (rollback/merge_restore.hpp);
//   - every collection of the run (created live names, staging and retained names) is gone;
//   - the source is untouched: when reachable, each exported collection is still there with the
//     export snapshot's count. Unreachable (or only known redacted) is "not checked", no failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/vector_store.hpp"
#include "rollback/journal.hpp"
#include "rollback/rollback_options.hpp"

namespace cm::rollback {

struct CollectionCheck {
  std::string name;
  std::string expect;  // "equal to backup" | "untouched" | "gone"
  bool ok = true;
  std::uint64_t expected_records = 0, actual_records = 0;
  std::uint64_t records_compared = 0, mismatches = 0;
  std::vector<std::string> problems;  // the first few
};

// The source compared with the export snapshot: "ok" | "mismatch" | "not checked" in the report.
enum class SourceStatus { kNotChecked, kOk, kMismatch };

}  // namespace cm::rollback

template <>
struct cm::EnumNames<cm::rollback::SourceStatus> {
  static constexpr std::pair<cm::rollback::SourceStatus, const char*> kNames[] = {
      {cm::rollback::SourceStatus::kNotChecked, "not checked"},
      {cm::rollback::SourceStatus::kOk, "ok"},
      {cm::rollback::SourceStatus::kMismatch, "mismatch"}};
};

namespace cm::rollback {

struct SourceCheck {
  SourceStatus status = SourceStatus::kNotChecked;
  std::string detail;
  std::vector<std::string> problems;
};

struct Verification {
  std::vector<CollectionCheck> collections;
  SourceCheck source;
  double seconds = 0;

  std::uint64_t records_compared() const;
  std::uint64_t mismatches() const;  // record mismatches
  bool ok() const;                   // every collection check ok and the source not mismatched
};

// Collection `name` on the target equals collection `name` of the sealed `snapshot`: count, hnsw
// configuration, collection metadata, and every record (id, document, uri, metadata exactly; the
// embedding within compare_embeddings' tolerance). Since the counts are equal and every snapshot id
// is found, the target holds exactly the snapshot's records. A difference is a failed check
// (ok == false, problems listed), not an error. Used for the final verification (against the
// backup) and, before a pre-existing collection is dropped, as the proof that the archive holds
// its content (rollback/execute.hpp).
Result<CollectionCheck> check_equal_to_snapshot(const std::string& name, VectorStore& target,
                                                SnapshotStore* snapshot, std::size_t workers,
                                                std::size_t max_batch,
                                                const std::string& expect = "equal to backup");

// `import`: the run's import snapshot (merged collections are checked against it and the
// backup); nullptr when the run has none.
Result<Verification> verify_rollback(const Journal& journal, VectorStore& target,
                                     SnapshotStore* backup, SnapshotStore* import,
                                     std::size_t workers, std::size_t max_batch);

// Marks the journal finished and records the verification as its last action.
Status record_verification(JournalStore& journal, const Verification& verification);

// Fills verification.source; never fails (problems become "not checked" or "mismatch").
SourceCheck check_source(const RollbackOptions& options, const RunManifest& manifest,
                         const WorkDir& work);

nlohmann::json verification_to_json(const Verification& verification);

}  // namespace cm::rollback
