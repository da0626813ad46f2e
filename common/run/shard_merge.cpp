#include "common/run/shard_merge.hpp"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/run/recorded_phase.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/shard_merge_drift.hpp"
#include "common/run/shard_merge_prepared.hpp"
#include "common/run/shard_set.hpp"
#include "common/run/work_dir.hpp"
#include "common/snapshot/snapshot_store.hpp"

namespace cm {
namespace {

// The configuration a shard was started with, without its shard index.
nlohmann::json unsharded_config(nlohmann::json config) {
  config.erase("shard");
  return config;
}

// The marker of a merged work dir built for a rollback while a shard had not finished: validation
// and cutover never use such a dir, they rebuild it (and refuse the unfinished shard).
std::filesystem::path rollback_marker(const WorkDir& merged) {
  return merged.root() / "built_for_rollback";
}

bool finished(const RunManifest& m, const WorkDir& work) {
  return !m.dry_run && recorded_phase(work) == "complete";
}

bool all_finished(const ShardSet& set) {
  for (std::size_t i = 0; i < set.manifests.size(); ++i) {
    if (!finished(set.manifests[i], WorkDir(set.work_dirs[i]))) return false;
  }
  return true;
}

// Every shard finished (unless merging for a rollback), and all were started with the same
// command but --shard.
Status check_shards(const ShardSet& set, ShardMerge which) {
  const RunManifest& first = set.manifests.front();
  for (std::size_t i = 0; i < set.manifests.size(); ++i) {
    const RunManifest& m = set.manifests[i];
    const WorkDir work(set.work_dirs[i]);
    const std::string who = "shard " + m.shard->to_string() + " (" + work.root().string() + ")";
    if (which == ShardMerge::kFinishedOnly && !finished(m, work)) {
      return make_error(ErrorCode::kConfigMismatch,
                        who + " has not finished (phase " + recorded_phase(work) +
                            (m.dry_run ? ", last invocation a dry run" : "") +
                            "): finish it with chroma-migrate --resume, then validate every "
                            "shard (chroma-rollback accepts it as it is)");
    }
    if (unsharded_config(m.config) != unsharded_config(first.config) ||
        m.source_collections != first.source_collections ||
        (m.import_snapshot != first.import_snapshot && !m.import_snapshot.empty() &&
         !first.import_snapshot.empty()) ||
        m.target_collections.size() != first.target_collections.size()) {
      return make_error(ErrorCode::kConfigMismatch,
                        who + " was started with another configuration than shard " +
                            first.shard->to_string() +
                            " (source, target, collections, mapping or flags differ): they are "
                            "not one migration");
    }
  }
  return ok_status();
}

// Writes the union of the shards' snapshot `name` into `merged` (sealed). Each record is in
// exactly one shard; a record found in two is a fault of the split (or of a shard), reported.
// A shard that did not finish (rollback only) may not have sealed it yet, though it may have
// written to the target already (export and import overlap): then no union is written (an
// incomplete one would misname the run's records as others'), and the rollback goes on as an
// unfinished unsharded run's does without that sealed snapshot.
Status merge_snapshot(const ShardSet& set, const std::string& relative,
                      const std::filesystem::path& merged) {
  for (std::size_t i = 0; i < set.work_dirs.size(); ++i) {
    const WorkDir work(set.work_dirs[i]);
    if (finished(set.manifests[i], work)) continue;
    auto shard = SnapshotStore::open(work.resolve(relative), SnapshotStore::Mode::kRead);
    if (shard) continue;
    spdlog::warn("shard {} (phase {}) has not sealed its {} ({}): the merged work dir has none",
                 set.manifests[i].shard->to_string(), recorded_phase(work), relative,
                 shard.error().message);
    return ok_status();
  }
  CM_ASSIGN_OR_RETURN(auto out, SnapshotStore::open(merged, SnapshotStore::Mode::kWrite));
  out->set_description("union of the " + std::to_string(set.count) + " shards of run " +
                       set.run_id + " (" + relative + ")");
  std::map<std::string, CollectionInfo> created;
  std::map<std::string, std::uint64_t> records;
  for (const auto& dir : set.work_dirs) {
    CM_ASSIGN_OR_RETURN(auto shard, SnapshotStore::open(WorkDir(dir).resolve(relative),
                                                        SnapshotStore::Mode::kRead));
    CM_ASSIGN_OR_RETURN(auto collections, shard->list_collections());
    for (const auto& info : collections) {
      if (!created.contains(info.name)) {
        CM_ASSIGN_OR_RETURN(created[info.name], out->create_collection_from(info));
      }
      CM_ASSIGN_OR_RETURN(std::size_t parts, shard->part_count(info.name));
      for (std::size_t p = 0; p < parts; ++p) {
        CM_ASSIGN_OR_RETURN(auto part, shard->read_part(info.name, p));
        CM_RETURN_IF_ERROR(out->upsert(created[info.name], part));
        records[info.name] += part.size();
      }
    }
  }
  CM_RETURN_IF_ERROR(out->flush());
  for (const auto& [name, info] : created) {
    CM_ASSIGN_OR_RETURN(auto count, out->count(info));
    if (count != records[name]) {
      return make_error(ErrorCode::kVerifyFailed,
                        "the shards' snapshots of " + name + " hold " +
                            std::to_string(records[name]) + " records but only " +
                            std::to_string(count) +
                            " distinct ids: a record was migrated by two shards");
    }
  }
  return ok_status();
}

// The union's ledger: each target collection expects the records of every shard; the run first
// changed a live name when the earliest shard did; it got as far as the furthest shard (a shard
// that died after creating a collection still created it); its server id is the one the shards
// recorded (they all check it: two ids would be two collections, refused).
Status merge_ledgers(const ShardSet& set, RunManifest& m) {
  for (auto& entry : m.target_collections) entry.expected_records = 0;
  for (const auto& shard : set.manifests) {
    for (auto& entry : m.target_collections) {
      const auto* e = shard.find_target(entry.name);
      if (!e) continue;
      entry.expected_records += e->expected_records;
      if (!e->disrupted_at.empty() &&
          (entry.disrupted_at.empty() || e->disrupted_at < entry.disrupted_at)) {
        entry.disrupted_at = e->disrupted_at;
      }
      entry.state = std::max(entry.state, e->state);
      if (entry.collection_id.empty()) {
        entry.collection_id = e->collection_id;
      } else if (!e->collection_id.empty() && e->collection_id != entry.collection_id) {
        return make_error(ErrorCode::kAlreadyExists,
                          "the shards of run " + set.run_id + " recorded two server ids for '" +
                              entry.name + "' (" + entry.collection_id + ", " + e->collection_id +
                              "): one of them is not the run's; nothing was changed");
      }
    }
  }
  return ok_status();
}

// Whether a cutover or a rollback started in the merged work dir.
Result<bool> journals_a_swap(const WorkDir& merged) {
  if (std::filesystem::exists(merged.rollback_journal())) return true;
  if (!std::filesystem::exists(merged.run_manifest())) return false;
  CM_ASSIGN_OR_RETURN(auto previous, RunManifestStore::load(merged.run_manifest()));
  return previous->get().cutover.state != CutoverState::kNotStarted;
}

}  // namespace

Result<std::filesystem::path> merge_shard_work_dirs(
    const std::vector<std::filesystem::path>& work_dirs, ShardMerge which) {
  CM_ASSIGN_OR_RETURN(ShardSet set, load_shard_set(work_dirs));
  CM_RETURN_IF_ERROR(check_shards(set, which));
  const WorkDir first(set.work_dirs.front());
  const WorkDir merged(first.shards_merged());
  std::error_code ec;
  CM_ASSIGN_OR_RETURN(const bool journalled, journals_a_swap(merged));
  if (journalled) {
    // Rebuilding would lose the journal a --cutover, --finalize or chroma-rollback continues
    // from; the shards cannot change any more (they are complete).
    spdlog::info("keeping {}: a cutover or rollback of run {} journals in it",
                 merged.root().string(), set.run_id);
    return merged.root();
  }
  std::filesystem::remove_all(merged.root(), ec);
  if (ec) {
    return make_error(ErrorCode::kIo,
                      "cannot remove the previous " + merged.root().string() + ": " + ec.message());
  }
  CM_RETURN_IF_ERROR(ensure_directory(merged.root()));
  RunManifest m = set.manifests.front();
  for (const auto& shard : set.manifests) {  // shard 0 may have died before planning its import
    if (m.import_snapshot.empty()) m.import_snapshot = shard.import_snapshot;
  }
  std::vector<std::string> snapshots = {WorkDir::snapshot_relative(WorkDir::kSourceSnapshot)};
  if (!m.import_snapshot.empty() && m.import_snapshot != snapshots.front()) {
    snapshots.push_back(m.import_snapshot);
  }
  for (const auto& relative : snapshots) {
    spdlog::info("merging the {} shards' {} into {}", set.count, relative, merged.root().string());
    CM_RETURN_IF_ERROR(merge_snapshot(set, relative, merged.resolve(relative)));
  }
  CM_RETURN_IF_ERROR(merge_ledgers(set, m));
  m.shard.reset();
  m.config = unsharded_config(m.config);
  // Prepared shards: their one backup (and merged collections' expected union) from --prepare.
  CM_RETURN_IF_ERROR(adopt_prepared_backup(m, merged));
  CM_ASSIGN_OR_RETURN(auto written, RunManifestStore::create(merged.run_manifest(), m));
  if (std::filesystem::exists(first.checkpoint())) {  // none: shard 0 died before its export
    CM_ASSIGN_OR_RETURN(std::string checkpoint, read_file(first.checkpoint()));
    CM_RETURN_IF_ERROR(write_file_atomic(merged.checkpoint(), checkpoint));
  }
  for (const auto& [from, to] : {std::pair{first.mapping_copy(), merged.mapping_copy()},
                                 std::pair{first.contract_copy(), merged.contract_copy()}}) {
    if (!std::filesystem::exists(from)) continue;
    CM_RETURN_IF_ERROR(ensure_directory(to.parent_path()));
    CM_ASSIGN_OR_RETURN(std::string bytes, read_file(from));
    CM_RETURN_IF_ERROR(write_file_atomic(to, bytes));
  }
  // What any shard accepted with --allow-contract-drift, for the merged validation.
  CM_RETURN_IF_ERROR(merge_accepted_drift(set.work_dirs, merged));
  if (!all_finished(set)) {
    CM_RETURN_IF_ERROR(write_file_atomic(rollback_marker(merged), set.run_id + "\n"));
  }
  return merged.root();
}

Result<std::filesystem::path> merged_shard_work_dir(
    const std::vector<std::filesystem::path>& work_dirs, ShardMerge which) {
  CM_ASSIGN_OR_RETURN(ShardSet set, load_shard_set(work_dirs));
  const WorkDir merged(WorkDir(set.work_dirs.front()).shards_merged());
  // Built from finished shards (by chroma-validate): used as it is. Built for a rollback while a
  // shard had not finished: rebuilt (that shard may have gone on), unless a rollback journals in
  // it; and never used by what needs every shard finished (merge_shard_work_dirs refuses).
  if (std::filesystem::exists(merged.run_manifest()) &&
      !std::filesystem::exists(rollback_marker(merged))) {
    CM_ASSIGN_OR_RETURN(auto store, RunManifestStore::load(merged.run_manifest()));
    if (store->get().run_id == set.run_id) return merged.root();
  }
  return merge_shard_work_dirs(work_dirs, which);
}

Status mark_shards_rolled_back(const std::vector<std::filesystem::path>& work_dirs,
                               const std::string& at) {
  for (const auto& dir : work_dirs) {
    CM_ASSIGN_OR_RETURN(auto store, RunManifestStore::load(WorkDir(dir).run_manifest()));
    CM_RETURN_IF_ERROR(store->update([&](RunManifest& m) { m.rolled_back_at = at; }));
  }
  return ok_status();
}

}  // namespace cm
