// run.json: what a migration run is and what it did to the target. Written atomically; the
// target-collection ledger is updated *before* each create (state "creating") so that a crash
// between the server's create and our bookkeeping still lets resume and rollback recognise the
// collection as this run's.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/enum_names.hpp"
#include "common/base/error.hpp"
#include "common/base/json_document_store.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/shard.hpp"
#include "common/store/record.hpp"

namespace cm {

// What the run does to a target collection: created (by this run) | replaced (existed; backed
// up, dropped, recreated) | merged (existed; backed up, written into).
enum class LedgerAction { kCreated, kReplaced, kMerged };
// planned | creating (recorded before the create is sent) | created | imported | verified.
enum class LedgerState { kPlanned, kCreating, kCreated, kImported, kVerified };
// A cutover rename: planned | done.
enum class RenameState { kPlanned, kDone };
// "" never started | swapping | done | finalized.
enum class CutoverState { kNotStarted, kSwapping, kDone, kFinalized };
// A validation report's overall_status: PASSED | WARNING | FAILED ("" none).
enum class ReportStatus { kNone, kPassed, kWarning, kFailed };

template <>
struct EnumNames<LedgerAction> {
  static constexpr std::pair<LedgerAction, const char*> kNames[] = {
      {LedgerAction::kCreated, "created"},
      {LedgerAction::kReplaced, "replaced"},
      {LedgerAction::kMerged, "merged"}};
};
template <>
struct EnumNames<LedgerState> {
  static constexpr std::pair<LedgerState, const char*> kNames[] = {
      {LedgerState::kPlanned, "planned"},
      {LedgerState::kCreating, "creating"},
      {LedgerState::kCreated, "created"},
      {LedgerState::kImported, "imported"},
      {LedgerState::kVerified, "verified"}};
};
template <>
struct EnumNames<RenameState> {
  static constexpr std::pair<RenameState, const char*> kNames[] = {
      {RenameState::kPlanned, "planned"}, {RenameState::kDone, "done"}};
};
template <>
struct EnumNames<CutoverState> {
  static constexpr std::pair<CutoverState, const char*> kNames[] = {
      {CutoverState::kNotStarted, ""},
      {CutoverState::kSwapping, "swapping"},
      {CutoverState::kDone, "done"},
      {CutoverState::kFinalized, "finalized"}};
};
template <>
struct EnumNames<ReportStatus> {
  static constexpr std::pair<ReportStatus, const char*> kNames[] = {
      {ReportStatus::kNone, ""},
      {ReportStatus::kPassed, "PASSED"},
      {ReportStatus::kWarning, "WARNING"},
      {ReportStatus::kFailed, "FAILED"}};
};

CM_JSON_ENUM(LedgerAction)
CM_JSON_ENUM(LedgerState)
CM_JSON_ENUM(RenameState)

struct TargetCollectionEntry {
  std::string name;
  LedgerAction action = LedgerAction::kCreated;
  LedgerState state = LedgerState::kPlanned;
  std::vector<std::string> source_collections;
  std::uint64_t expected_records = 0;
  // --stage: the collection the import writes until the cutover renames it to `name`
  // (staging_name_for); empty when the run writes `name` in place.
  std::string staging_name;
  // When the run first changed what `name` serves (in place: before the first write or delete;
  // staged: the cutover's rename). Empty while the live name still serves pre-run data. Rollback
  // reports downtime from it.
  std::string disrupted_at;
  // replace / merge: the server id of the collection the backup holds (recorded with the backup).
  // A collection under `name` with another id is someone else's: never deleted or renamed.
  std::string backed_up_id{};
  // replace: the quarantine name (collection_identity.hpp) journalled before the backed-up
  // collection is renamed there by id, checked and deleted.
  std::string quarantine_name{};
  // Sharded runs (shard.hpp): the collection's server id once this shard created it or adopted
  // it, and whether another shard of the same run created it (found by name, carrying this run's
  // ledger keys; then checked by this id). Either way it is the run's own: the shards share a run
  // id, and rollback drops it once, for all of them.
  std::string collection_id{};
  bool adopted{false};

  bool operator==(const TargetCollectionEntry&) const = default;
};

// One rename of a cutover, journalled in run.json *before* it is sent and marked done after, with
// the collection's server id: a re-run after a crash looks both names up and compares ids to tell
// whether the rename landed, then completes or undoes the swap.
struct RenameStep {
  std::string collection_id;
  std::string from, to;
  RenameState state = RenameState::kPlanned;
  std::string done_at;

  bool operator==(const RenameStep&) const = default;
};

struct CutoverRecord {
  CutoverState state = CutoverState::kNotStarted;
  std::string report;                                // the validation report it relied on (path)
  ReportStatus report_status = ReportStatus::kNone;  // PASSED | WARNING
  std::string started_at, finished_at, finalized_at;
  std::vector<RenameStep> steps;      // in execution order
  std::vector<std::string> retained;  // old live collections kept under retained_name_for()

  bool operator==(const CutoverRecord&) const = default;
};

// The run ledger in a target collection's metadata: every collection a run creates or writes
// carries its run id, mapping hash and contract version, so resume and rollback can tell the run's
// collections from anyone else's, also after a crash between a server call and run.json.
inline constexpr const char* kLedgerRunId = "migration_run_id";
inline constexpr const char* kLedgerMappingHash = "migration_mapping_hash";
inline constexpr const char* kLedgerContractVersion = "migration_contract_version";
// Whether the collection's metadata names `run_id` as its run (kLedgerRunId).
bool owned_by_run(const CollectionInfo& info, const std::string& run_id);

// Naming rules for staged runs (docs/work-dir.md): "<live>.staged-<run id>" for the collection the
// import writes, "<live>.retained-<run id>" for the old live collection after the cutover.
std::string staging_name_for(const std::string& live, const std::string& run_id);
std::string retained_name_for(const std::string& live, const std::string& run_id);

struct RunManifest {
  static constexpr int kFormatVersion = 1;
  std::string run_id;
  std::string tool_version;
  std::string started_at;
  std::string source;  // redacted descriptions
  std::string target;
  nlohmann::json config = nlohmann::json::object();
  std::vector<std::string> source_collections;  // resolved selection, in processing order
  std::string import_snapshot;                  // relative to the work dir
  std::vector<TargetCollectionEntry> target_collections;
  TargetKind target_kind = TargetKind::kTest;  // interlocks
  std::string mapping_hash;                    // "" without --mapping
  std::string contract_version;                // "" without --contract
  bool dry_run = false;                        // the last invocation was a dry run
  // {"path": "snapshots/backup", "collections": {name: records}, "verified_at": ...} once taken.
  nlohmann::json backup = nlohmann::json::object();
  // Every --allow-contract-drift override: {"at", "stage": preflight|postflight, "findings":
  // [...]}.
  nlohmann::json contract_overrides = nlohmann::json::array();
  // Every chroma-migrate --sync that applied (migrate/sync.hpp): {"generation", "at", "seconds",
  // "converged", "collections": {source collection: {"added", "changed", "deleted"}}}.
  nlohmann::json syncs = nlohmann::json::array();
  // Records of a persist-directory source whose vector could not be recovered anywhere, which the
  // run left out (--allow-missing-vectors; docs/persist-source.md): {"file": path relative to the
  // work dir of the full list, "collections": {source collection: {"count", "sample": [ids]}}}.
  // Empty: none. Data lost at the source, not by the migration: never in a snapshot.
  nlohmann::json unrecoverable_at_source = nlohmann::json::object();
  bool staged = false;         // --stage: import into staging collections, swap in at --cutover
  CutoverRecord cutover;       // staged runs only
  std::string rolled_back_at;  // set by chroma-rollback once the target is restored and verified
  // --shard I/N: this work dir holds shard I of N of the run (shard.hpp); nullopt: unsharded.
  std::optional<ShardSpec> shard;
  // A shard of a run prepared by chroma-migrate --prepare (--prepared DIR, prepare_record.hpp):
  // that dir, absolute. Its backup is the run's backup (this work dir takes none); the merged work
  // dir of the shards copies it (shard_merge.hpp). "": not prepared.
  std::string prepared;

  // The ledger entry whose live name or staging name is `name`; nullptr when none.
  TargetCollectionEntry* find_target(const std::string& name);
  const TargetCollectionEntry* find_target(const std::string& name) const;
  // Where the run's imported data for `entry` lives now: its staging collection until the cutover
  // renamed it to the live name, the live name otherwise.
  std::string data_location(const TargetCollectionEntry& entry) const;
};

nlohmann::json run_manifest_to_json(const RunManifest& manifest);
Result<RunManifest> run_manifest_from_json(const nlohmann::json& json);

// Owns run.json: update() applies a change and writes the file atomically before returning.
using RunManifestStore =
    JsonDocumentStore<RunManifest, run_manifest_to_json, run_manifest_from_json>;

}  // namespace cm
