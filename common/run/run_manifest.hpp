// run.json: what a migration run is and what it did to the target. Written atomically; the
// target-collection ledger is updated *before* each create (state "creating") so that a crash
// between the server's create and our bookkeeping still lets resume and rollback recognise the
// collection as this run's.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/base/json_document_store.hpp"
#include "common/store/record.hpp"

namespace cm {

struct TargetCollectionEntry {
  std::string name;
  std::string action;  // created (by this run) | replaced (existed; backed up, dropped, recreated)
                       // | merged (existed; backed up, written into)
  std::string state;   // planned | creating | created | imported | verified
  std::vector<std::string> source_collections;
  std::uint64_t expected_records = 0;
  // --stage: the collection the import writes until the cutover renames it to `name`
  // (staging_name_for); empty when the run writes `name` in place.
  std::string staging_name;
  // When the run first changed what `name` serves (in place: before the first write or delete;
  // staged: the cutover's rename). Empty while the live name still serves pre-run data. Rollback
  // reports downtime from it.
  std::string disrupted_at;

  bool operator==(const TargetCollectionEntry&) const = default;
};

// One rename of a cutover, journalled in run.json *before* it is sent and marked done after, with
// the collection's server id: a re-run after a crash looks both names up and compares ids to tell
// whether the rename landed, then completes or undoes the swap.
struct RenameStep {
  std::string collection_id;
  std::string from, to;
  std::string state = "planned";  // planned | done
  std::string done_at;

  bool operator==(const RenameStep&) const = default;
};

struct CutoverRecord {
  std::string state;          // "" never started | swapping | done | finalized
  std::string report;         // the validation report it relied on (path)
  std::string report_status;  // PASSED | WARNING
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
  std::string target_kind = "test";  // test | working (interlocks)
  std::string mapping_hash;          // "" without --mapping
  std::string contract_version;      // "" without --contract
  bool dry_run = false;              // the last invocation was a dry run
  // {"path": "snapshots/backup", "collections": {name: records}, "verified_at": ...} once taken.
  nlohmann::json backup = nlohmann::json::object();
  // Every --allow-contract-drift override: {"at", "stage": preflight|postflight, "findings":
  // [...]}.
  nlohmann::json contract_overrides = nlohmann::json::array();
  bool staged = false;         // --stage: import into staging collections, swap in at --cutover
  CutoverRecord cutover;       // staged runs only
  std::string rolled_back_at;  // set by chroma-rollback once the target is restored and verified

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
