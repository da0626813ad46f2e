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

#include "common/error.hpp"

namespace cm {

struct TargetCollectionEntry {
  std::string name;
  std::string action;  // created (by this run) | replaced (existed; backed up, dropped, recreated)
                       // | merged (existed; backed up, written into)
  std::string state;   // planned | creating | created | imported | verified
  std::vector<std::string> source_collections;
  std::uint64_t expected_records = 0;

  bool operator==(const TargetCollectionEntry&) const = default;
};

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

  TargetCollectionEntry* find_target(const std::string& name);
};

nlohmann::json run_manifest_to_json(const RunManifest& manifest);
Result<RunManifest> run_manifest_from_json(const nlohmann::json& json);

class RunManifestStore {
 public:
  static Result<std::unique_ptr<RunManifestStore>> create(const std::filesystem::path& path,
                                                          RunManifest manifest);
  static Result<std::unique_ptr<RunManifestStore>> load(const std::filesystem::path& path);

  RunManifest get() const;
  // Applies a change and writes the file atomically before returning.
  Status update(const std::function<void(RunManifest&)>& change);

 private:
  RunManifestStore(std::filesystem::path path, RunManifest manifest)
      : path_(std::move(path)), manifest_(std::move(manifest)) {}
  std::filesystem::path path_;
  mutable std::mutex mutex_;
  RunManifest manifest_;
};

}  // namespace cm
