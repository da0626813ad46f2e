#include "common/run/shard_merge_prepared.hpp"

#include <unordered_set>

#include <spdlog/spdlog.h>

#include "common/run/prepare_record.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

// A sealed snapshot copied file by file (its manifest's digests travel with it), into a temp dir
// renamed into place: a crash leaves no half copy under the final name.
Status copy_snapshot_dir(const fs::path& from, const fs::path& to) {
  const fs::path tmp = to.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::remove_all(to, ec);
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, tmp, fs::copy_options::recursive, ec);
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "cannot copy the prepared backup " + from.string() + " to " +
                                          to.string() + ": " + ec.message());
  }
  return ok_status();
}

Status add_ids(VectorStore& store, const std::string& name, IdHashSet& ids) {
  CM_ASSIGN_OR_RETURN(auto info, store.find_collection(name));
  if (!info) return ok_status();
  for (std::uint64_t offset = 0;; offset += 10000) {
    CM_ASSIGN_OR_RETURN(auto page, store.list_ids(*info, offset, 10000));
    for (const auto& id : page) ids.insert(id_hash(id));
    if (page.size() < 10000) return ok_status();
  }
}

}  // namespace

Status adopt_prepared_backup(RunManifest& m, const WorkDir& merged) {
  if (m.prepared.empty()) return ok_status();
  const WorkDir prepared(m.prepared);
  if (!fs::exists(prepare_record_path(prepared.root()))) {
    return make_error(ErrorCode::kNotFound,
                      "the shards of run " + m.run_id + " were prepared in " + m.prepared +
                          " (run.json \"prepared\"), which holds no prepared.json here: make that "
                          "directory readable at that path (it holds the run's backup)");
  }
  CM_ASSIGN_OR_RETURN(const PrepareRecord record, load_prepare_record(prepared.root()));
  if (record.run_id != m.run_id || record.state != PrepareState::kReady) {
    return make_error(ErrorCode::kCorruption, m.prepared + " holds the prepare of run " +
                                                  record.run_id + " (state " +
                                                  enum_name(record.state) +
                                                  "), not the finished prepare of run " + m.run_id);
  }
  const fs::path copy = merged.snapshot(WorkDir::kBackupSnapshot);
  spdlog::info("copying the prepared backup {} into {}",
               prepared.resolve(record.backup_path).string(), copy.string());
  CM_RETURN_IF_ERROR(copy_snapshot_dir(prepared.resolve(record.backup_path), copy));
  CM_ASSIGN_OR_RETURN(auto backup, SnapshotStore::open(copy, SnapshotStore::Mode::kRead));
  CM_ASSIGN_OR_RETURN(auto report, backup->verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption, "the prepared backup " + m.prepared +
                                                  " failed verification:" + report.problem_lines());
  }
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& c : record.collections) counts[c.name] = c.record_count;
  m.backup = {{"path", WorkDir::snapshot_relative(WorkDir::kBackupSnapshot)},
              {"collections", counts},
              {"verified_at", record.backup_verified_at},
              {"prepared", m.prepared}};
  // None only when built for a rollback while a shard had not sealed its import snapshot
  // (shard_merge.cpp); the rollback does not use expected_records.
  auto imported =
      SnapshotStore::open(merged.resolve(m.import_snapshot), SnapshotStore::Mode::kRead);
  for (auto& entry : m.target_collections) {
    const PreparedCollection* c = record.find(entry.name);
    if (!c) continue;
    entry.backed_up_id = c->collection_id;
    // replace: the live name stopped serving the pre-run data when --prepare dropped it.
    if (!c->dropped_at.empty()) entry.disrupted_at = c->dropped_at;
    if (entry.action != LedgerAction::kMerged || !imported) continue;
    // A merge ends with the union of what was there and what every shard brought.
    IdHashSet ids;
    CM_RETURN_IF_ERROR(add_ids(*backup, entry.name, ids));
    CM_RETURN_IF_ERROR(add_ids(**imported, entry.name, ids));
    entry.expected_records = ids.size();
  }
  return ok_status();
}

}  // namespace cm
