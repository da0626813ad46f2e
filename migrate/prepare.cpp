#include "migrate/prepare.hpp"

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/run/collection_copy.hpp"
#include "common/run/collection_identity.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/prepare_record.hpp"
#include "common/run/store_factory.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/store/audit_log.hpp"
#include "migrate/run_setup.hpp"

namespace cm::migrate {
namespace {

Status validate_prepare_options(const MigrateOptions& o, std::uint32_t shards) {
  auto bad = [](const std::string& why) { return make_error(ErrorCode::kInvalidArgument, why); };
  if (shards < 1) return bad("--prepare needs --shards N (N >= 1): the shard count of the run");
  if (o.run_id.empty()) return bad("--prepare needs --run-id: the run id every shard is given");
  if (o.if_exists == IfExists::kFail) {
    return bad(
        "--prepare is for --if-exists merge or replace (with fail there is nothing to back "
        "up: start the shards directly)");
  }
  // --stage with merge is refused by validate_options (a staged run swaps whole collections in).
  if (o.dry_run) return bad("--prepare has no --dry-run: run one shard with --dry-run instead");
  if (o.resume) return bad("--prepare needs no --resume: run the same command again");
  if (!o.prepared_dir.empty()) return bad("--prepare and --prepared exclude each other");
  return validate_options(o);
}

struct PrepareStores {
  std::unique_ptr<VectorStore> source, target;
};

Result<PrepareStores> open_stores(const MigrateOptions& o, const WorkDir& work,
                                  const std::string& run_id) {
  CM_ASSIGN_OR_RETURN(const StoreTokens tokens,
                      resolve_store_tokens(o.tokens, &o.source, &o.target));
  StoreOpenOptions options{.token = tokens.source,
                           .retry = o.retry,
                           .counters = std::make_shared<StoreCounters>(),
                           .fault_spec = o.fault_spec,
                           .audit = AuditLog::open(work.audit_log(), run_id),
                           .dry_run = false,
                           .scratch_dir = work.scratch_dir()};
  PrepareStores stores;
  CM_ASSIGN_OR_RETURN(SourceStore source, open_source_store(o.source, options));
  stores.source = std::move(source.store);
  options.token = tokens.target;
  CM_ASSIGN_OR_RETURN(stores.target, open_store(o.target, StoreRole::kTarget, options));
  return stores;
}

// Whether the prepare drops a backed-up collection: replace, unless staged (then the live name
// keeps serving until the cutover retains it; the shards build the staged collections beside it).
bool drops(const PrepareRecord& record, LedgerAction action) {
  return action == LedgerAction::kReplaced && !record.staged;
}

// The backup of every collection the run will merge into or replace, sealed and verified, and the
// record (state backed_up) naming what it holds. Nothing on the target is changed.
Result<PrepareRecord> back_up(const MigrateOptions& o, const Inputs& in, const WorkDir& work,
                              VectorStore& source, VectorStore& target, std::uint32_t shards) {
  CM_ASSIGN_OR_RETURN(auto names, resolve_run_collections(o, in, source));
  CM_ASSIGN_OR_RETURN(auto entries, plan_targets(o, in, o.run_id, source, target, names));
  PrepareRecord record{.run_id = o.run_id,
                       .shards = shards,
                       .config_hash = prepare_config_hash(o, in),
                       .target = target.describe(),
                       .state = PrepareState::kBackedUp,
                       .staged = o.stage,
                       .backup_path = WorkDir::snapshot_relative(WorkDir::kBackupSnapshot),
                       .backup_verified_at = {},
                       .prepared_at = {},
                       .collections = {}};
  const auto dir = work.snapshot(WorkDir::kBackupSnapshot);
  // No record yet: nothing was changed on the target, and nothing refers to a backup left by an
  // interrupted prepare; it is started over.
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  StoreOpenOptions snapshot_options;
  snapshot_options.retry = o.retry;
  snapshot_options.fault_spec = o.fault_spec;
  CM_ASSIGN_OR_RETURN(auto backup,
                      open_work_snapshot(dir, SnapshotStore::Mode::kWrite, snapshot_options));
  backup.snapshot->set_description("backup of " + target.describe() + " before sharded run " +
                                   o.run_id + " (chroma-migrate --prepare)");
  for (const auto& e : entries) {
    if (e.action == LedgerAction::kCreated) continue;
    CM_ASSIGN_OR_RETURN(auto live, target.find_collection(e.name));
    if (!live) {
      return make_error(ErrorCode::kVerifyFailed,
                        "target collection '" + e.name + "' vanished while it was planned");
    }
    if (owned_by_run(*live, o.run_id)) {
      // The shards of this run wrote it already: a backup now would not be the pre-run state, and
      // a replace would drop the run's own collection.
      return make_error(ErrorCode::kAlreadyExists,
                        "target collection '" + e.name + "' (id " + live->id + ") carries run " +
                            o.run_id +
                            "'s id: its shards started already. --prepare runs once, before any "
                            "shard; give the shards the prepared dir of that first --prepare. "
                            "Nothing was written");
    }
    spdlog::info("backing up existing target collection {} (id {})", e.name, live->id);
    CM_RETURN_IF_ERROR(copy_collection_to_snapshot(target, *live, backup,
                                                   {.batch_size = o.batch_size,
                                                    .workers = o.workers,
                                                    .scan_file = work.backup_scan_file(e.name),
                                                    .progress_label = "backup " + e.name}));
    record.collections.push_back({.name = e.name,
                                  .action = e.action,
                                  .collection_id = live->id,
                                  .record_count = 0,
                                  .content_digest = {},
                                  .quarantine_name = drops(record, e.action)
                                                         ? quarantine_name_for(e.name, o.run_id)
                                                         : std::string(),
                                  .dropped_at = {}});
  }
  CM_RETURN_IF_ERROR(backup.store->flush());
  CM_ASSIGN_OR_RETURN(auto report, backup.snapshot->verify());
  if (!report.ok()) {
    return make_error(
        ErrorCode::kCorruption,
        "the backup failed verification; nothing was written:" + report.problem_lines());
  }
  const auto manifest = backup.snapshot->manifest();
  for (auto& c : record.collections) {
    const ManifestCollection* saved = manifest ? manifest->find(c.name) : nullptr;
    if (!saved) {
      return make_error(ErrorCode::kCorruption, "the sealed backup lacks '" + c.name + "'");
    }
    c.record_count = saved->record_count;
    c.content_digest = saved->content_digest;
  }
  record.backup_verified_at = now_iso8601();
  spdlog::info("backup verified: {} ({} collection(s), {} records checked)", dir.string(),
               report.collections_checked, report.records_checked);
  CM_RETURN_IF_ERROR(write_prepare_record(work.root(), record));
  return record;
}

// replace: each backed-up collection dropped once, pinned by id and content (exit 9 and nothing
// dropped when it is not what the backup holds). Each drop is recorded before the next.
Status drop_replaced(const MigrateOptions& o, const WorkDir& work, VectorStore& target,
                     PrepareRecord& record) {
  for (auto& c : record.collections) {
    if (!drops(record, c.action) || !c.dropped_at.empty()) continue;
    spdlog::info("dropping target collection {} (id {}; backed up, to be replaced by the shards)",
                 c.name, c.collection_id);
    CM_RETURN_IF_ERROR(delete_collection_pinned(
        target, {.collection_id = c.collection_id,
                 .name = c.name,
                 .quarantine = c.quarantine_name,
                 .expected = CollectionContent{.count = c.record_count, .digest = c.content_digest},
                 .batch_size = o.batch_size}));
    c.dropped_at = now_iso8601();
    CM_RETURN_IF_ERROR(write_prepare_record(work.root(), record));
  }
  return ok_status();
}

}  // namespace

Result<PrepareSummary> run_prepare(const MigrateOptions& o, std::uint32_t shards) {
  CM_RETURN_IF_ERROR(validate_prepare_options(o, shards));
  CM_ASSIGN_OR_RETURN(const Inputs in, load_inputs(o));
  CM_ASSIGN_OR_RETURN(auto decision, check_interlocks({.target_env = o.target_env,
                                                       .confirmation = o.confirmation,
                                                       .targets_file = o.targets_file,
                                                       .target = o.target,
                                                       .dry_run = false}));
  const WorkDir work(o.work_dir);
  CM_RETURN_IF_ERROR(ensure_directory(work.root()));
  CM_RETURN_IF_ERROR(restrict_work_dir(work));
  CM_ASSIGN_OR_RETURN(auto lock, WorkDirLock::acquire(work.root(), "chroma-migrate --prepare"));
  CM_RETURN_IF_ERROR(init_logging(
      "chroma-migrate", {work.log_file("chroma-migrate-prepare", o.run_id), o.verbose, o.quiet}));
  if (std::filesystem::exists(work.run_manifest())) {
    return make_error(ErrorCode::kConfigMismatch, work.root().string() +
                                                      " holds a run (run.json); --prepare needs a "
                                                      "directory of its own");
  }
  PrepareSummary summary{.run_id = o.run_id, .dir = work.root(), .staged = o.stage};
  std::optional<PrepareRecord> record;
  if (std::filesystem::exists(prepare_record_path(work.root()))) {
    CM_ASSIGN_OR_RETURN(record, load_prepare_record(work.root()));
    // Same run, shards and flags: a re-run finishes it (or finds it done).
    CM_RETURN_IF_ERROR(
        check_prepare_binding(*record, o.run_id, shards, prepare_config_hash(o, in), o.stage));
    summary.already_ready = record->state == PrepareState::kReady;
  }
  spdlog::info("{} target: preparing sharded run {} ({} shards, --if-exists {}{}) in {}",
               decision.target_kind == TargetKind::kWorking ? "WORKING" : "TEST", o.run_id, shards,
               enum_name(o.if_exists), o.stage ? ", staged" : "", work.root().string());
  if (!summary.already_ready) {
    CM_ASSIGN_OR_RETURN(auto stores, open_stores(o, work, o.run_id));
    if (!record) {
      CM_ASSIGN_OR_RETURN(record, back_up(o, in, work, *stores.source, *stores.target, shards));
    }
    CM_RETURN_IF_ERROR(drop_replaced(o, work, *stores.target, *record));
    record->state = PrepareState::kReady;
    record->prepared_at = now_iso8601();
    CM_RETURN_IF_ERROR(write_prepare_record(work.root(), *record));
  }
  for (const auto& c : record->collections) {
    ++summary.backed_up;
    summary.records += c.record_count;
    if (!c.dropped_at.empty()) ++summary.dropped;
  }
  return summary;
}

}  // namespace cm::migrate
