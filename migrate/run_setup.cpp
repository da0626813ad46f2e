#include "migrate/run_setup.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "migrate/lost_vectors.hpp"
#include "migrate/phase_context.hpp"
#include "migrate/space_check.hpp"

namespace cm::migrate {
namespace {

// The part of the options a checkpoint is bound to. Workers, retries and verbosity may change
// between invocations; anything that changes which batches exist or where they go may not.
nlohmann::json bound_config(const MigrateOptions& o, const Inputs& in) {
  nlohmann::json config = {{"source", o.source.redacted()},
                           {"target", o.target.redacted()},
                           {"collections", o.collections},
                           {"batch_size", o.batch_size},
                           {"mapping_hash", in.mapping_hash},
                           {"contract", in.contract ? ckpt::hash_config(in.contract->source) : ""},
                           {"if_exists", enum_name(o.if_exists)},
                           {"stage", o.stage}};
  // Only sharded runs carry the key, so the hash of every unsharded run stays what it was.
  if (o.shard) config["shard"] = o.shard->to_string();
  // Likewise only prepared shards: a resume with another (re-)prepared record is refused.
  if (in.prepared) config["prepared"] = prepare_record_checksum(*in.prepared);
  return config;
}

Result<std::vector<std::string>> resolve_collections(VectorStore& source,
                                                     const std::vector<std::string>& wanted) {
  CM_ASSIGN_OR_RETURN(auto all, source.list_collections());
  std::vector<std::string> names;
  for (const auto& c : all) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  if (wanted.empty()) return names;
  std::string missing;
  for (const auto& w : wanted) {
    if (!std::binary_search(names.begin(), names.end(), w))
      missing += (missing.empty() ? "" : ", ") + w;
  }
  if (!missing.empty()) {
    std::string available;
    for (const auto& n : names) available += (available.empty() ? "" : ", ") + n;
    return make_error(ErrorCode::kInvalidArgument,
                      "--collections names collections the source does not have: " + missing +
                          " (available: " + available + ")");
  }
  return wanted;
}

}  // namespace

// The target collections the run will write and what it will do to each, decided before any write:
// a collection that exists is refused (--if-exists fail), or backed up and replaced / merged into.
Result<std::vector<TargetCollectionEntry>> plan_targets(const MigrateOptions& o, const Inputs& in,
                                                        const std::string& run_id,
                                                        VectorStore& source, VectorStore& target,
                                                        const std::vector<std::string>& sources) {
  std::vector<std::string> names = sources;
  if (in.mapping) {
    std::vector<CollectionInfo> infos;
    for (const auto& name : sources) {
      CM_ASSIGN_OR_RETURN(auto info, source.find_collection(name));
      if (info) infos.push_back(*info);
    }
    CM_ASSIGN_OR_RETURN(auto specs, contracts::plan_target_collections(*in.mapping, infos));
    names.clear();
    for (const auto& spec : specs) names.push_back(spec.name);
  }
  std::vector<TargetCollectionEntry> entries;
  std::string taken;
  // Another shard of this run may have created a collection already: it carries this run's id,
  // so it is adopted, not taken (sharded runs share the run id; see adopt_shard_collection).
  auto other_shards = [&](const std::optional<CollectionInfo>& c) {
    return o.shard && c && owned_by_run(*c, run_id);
  };
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto existing, target.find_collection(name));
    LedgerAction action = LedgerAction::kCreated;
    std::string backed_up_id;
    const PreparedCollection* prepared = in.prepared ? in.prepared->find(name) : nullptr;
    if (prepared) {
      // --prepare backed it up for every shard: its action, checked against the live name now
      // (and again before the first write, in import_targets).
      action = prepared->action;
      backed_up_id = prepared->collection_id;
      CM_RETURN_IF_ERROR(check_prepared_collection(name, action, backed_up_id, existing, run_id,
                                                   in.prepared->staged));
      existing.reset();
    }
    if (other_shards(existing)) existing.reset();
    if (existing && in.prepared) {
      return make_error(ErrorCode::kAlreadyExists,
                        "target collection '" + name + "' (id " + existing->id +
                            ") exists but --prepare did not back it up (it appeared after the "
                            "prepare); nothing was written. Prepare again in a new directory");
    }
    if (existing) {
      if (o.if_exists == IfExists::kFail) taken += (taken.empty() ? "" : ", ") + name;
      action = o.if_exists == IfExists::kReplace ? LedgerAction::kReplaced : LedgerAction::kMerged;
    }
    TargetCollectionEntry entry{.name = name,
                                .action = action,
                                .state = LedgerState::kPlanned,
                                .source_collections = {},
                                .expected_records = 0,
                                .staging_name = {},
                                .disrupted_at = {},
                                .backed_up_id = backed_up_id};
    if (o.stage) {
      entry.staging_name = staging_name_for(name, run_id);
      for (const auto& derived : {entry.staging_name, retained_name_for(name, run_id)}) {
        if (auto why = invalid_collection_name_reason(derived)) {
          return make_error(ErrorCode::kInvalidArgument, "--stage needs collection '" + derived +
                                                             "', which is not a valid name (" +
                                                             *why + "); choose a shorter --run-id");
        }
        CM_ASSIGN_OR_RETURN(auto clash, target.find_collection(derived));
        if (clash && !other_shards(clash)) taken += (taken.empty() ? "" : ", ") + derived;
      }
    }
    entries.push_back(std::move(entry));
  }
  if (!taken.empty()) {
    return make_error(
        ErrorCode::kAlreadyExists,
        "the target already has collection(s) " + taken +
            "; nothing was written. Choose --if-exists replace or merge (both back them up first), "
            "point --target at another database, or remove them");
  }
  return entries;
}

Status restrict_work_dir(const WorkDir& work) {
  CM_ASSIGN_OR_RETURN(auto before, restrict_to_owner(work.root()));
  if (before) {
    spdlog::warn("work dir {} was mode {:o}; made it 0700 (owner only): it holds production data",
                 work.root().string(), static_cast<unsigned>(*before));
  }
  return ok_status();
}

std::string prepare_config_hash(const MigrateOptions& o, const Inputs& in) {
  MigrateOptions unsharded = o;
  unsharded.shard.reset();
  unsharded.prepared_dir.clear();
  Inputs bare = in;
  bare.prepared.reset();
  return ckpt::hash_config(bound_config(unsharded, bare));
}

Result<std::vector<std::string>> resolve_run_collections(const MigrateOptions& o, const Inputs& in,
                                                         VectorStore& source) {
  return resolve_collections(
      source, in.mapping ? contracts::mapped_source_collections(*in.mapping) : o.collections);
}

Result<Inputs> load_inputs(const MigrateOptions& o) {
  Inputs in;
  if (!o.prepared_dir.empty()) {
    CM_ASSIGN_OR_RETURN(in.prepared, load_prepare_record(o.prepared_dir));
  }
  if (!o.mapping_file.empty()) {
    if (!o.collections.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--collections cannot be combined with --mapping: the mapping's routes "
                        "name the source collections");
    }
    CM_ASSIGN_OR_RETURN(in.mapping, contracts::load_mapping(o.mapping_file));
    in.mapping_hash = contracts::mapping_hash(*in.mapping);
  }
  if (!o.contract_file.empty()) {
    CM_ASSIGN_OR_RETURN(in.contract, contracts::load_contract(o.contract_file));
    in.contract_version = in.contract->version;
  }
  return in;
}

Status validate_options(const MigrateOptions& o) {
  auto bad = [](const std::string& why) { return make_error(ErrorCode::kInvalidArgument, why); };
  if (o.work_dir.empty()) return bad("--work-dir is required");
  if (o.batch_size < 1 || o.batch_size > 100000)
    return bad("--batch-size must be between 1 and 100000");
  if (o.workers < 1 || o.workers > 64) return bad("--workers must be between 1 and 64");
  if (o.source.redacted() == o.target.redacted() && o.source.base_url == o.target.base_url) {
    return bad("--source and --target are the same store; a migration needs two different ones");
  }
  if (o.stage && o.if_exists == IfExists::kMerge) {
    return bad(
        "--stage cannot be combined with --if-exists merge (sharded or not): a staged run builds "
        "new collections and swaps them in whole; use --if-exists replace (the old collection is "
        "kept until --finalize), or merge in place without --stage");
  }
  if (!o.run_id.empty()) {
    if (auto why = invalid_collection_name_reason("r" + o.run_id + "r");
        why || !std::isalnum(static_cast<unsigned char>(o.run_id.back()))) {
      return bad("--run-id '" + o.run_id +
                 "' must use only letters, digits, '.', '_' and '-' and end with a letter or "
                 "digit (it becomes part of collection names)");
    }
  }
  if (o.shard && o.run_id.empty()) {
    return bad(
        "--shard/--shards need --run-id: every shard of the run must be given the same "
        "--run-id, so that their target collections, ledger keys and reports agree");
  }
  if (o.shard && o.if_exists != IfExists::kFail && o.prepared_dir.empty()) {
    return bad(
        "--shard/--shards with --if-exists " + std::string(enum_name(o.if_exists)) +
        " need --prepared DIR: the live target collections must be backed up once, before any "
        "shard writes (a backup taken by every shard at its own time would not be one consistent "
        "pre-run state). Run chroma-migrate --prepare --shards N --work-dir DIR with the same "
        "flags first, then start every shard with --prepared DIR (README: sharded runs)");
  }
  if (!o.prepared_dir.empty() && (!o.shard || o.if_exists == IfExists::kFail)) {
    return bad(
        "--prepared is for the shards of a run prepared by --prepare: it needs --shard/--shards "
        "and --if-exists merge or replace");
  }
  for (const auto& name : o.collections) {
    if (auto why = invalid_collection_name_reason(name)) {
      return bad("--collections: '" + name + "' is not a valid collection name: " + *why);
    }
  }
  return ok_status();
}

std::string generate_run_id() {
  std::random_device rd;
  return now_compact_stamp() + "-" + fmt::format("{:04x}", rd() & 0xffff);
}

Result<OpenRun> resume_run(const MigrateOptions& o, const WorkDir& work, const Inputs& in) {
  OpenRun run;
  run.resumed = true;
  CM_RETURN_IF_ERROR(restrict_work_dir(work));
  CM_ASSIGN_OR_RETURN(run.checkpoint, ckpt::CheckpointStore::load(work.checkpoint()));
  CM_ASSIGN_OR_RETURN(run.manifest, RunManifestStore::load(work.run_manifest()));
  auto state = run.checkpoint->snapshot();
  if (const auto m = run.manifest->get(); !m.rolled_back_at.empty()) {
    return make_error(ErrorCode::kConfigMismatch,
                      "run " + m.run_id + " was rolled back at " + m.rolled_back_at +
                          " (rollback_report.md); start a new run in a new --work-dir");
  }
  if (state.config_hash != ckpt::hash_config(bound_config(o, in))) {
    return make_error(
        ErrorCode::kConfigMismatch,
        "cannot resume run " + state.run_id + ": its configuration differs (" +
            ckpt::describe_config_difference(state.config, bound_config(o, in)) +
            "). Resume with the original flags, or start a new run in a new --work-dir");
  }
  if (!o.run_id.empty() && o.run_id != state.run_id) {
    return make_error(
        ErrorCode::kConfigMismatch,
        "--run-id " + o.run_id + " does not match the work dir's run " + state.run_id);
  }
  return run;
}

Result<OpenRun> start_run(const MigrateOptions& o, const Inputs& in, const std::string& run_id,
                          TargetKind target_kind, const WorkDir& work, VectorStore& source,
                          VectorStore& target, std::unique_ptr<WorkDirLock> lock,
                          PersistStore* persist) {
  // Init phase: every check happens before anything is written, locally or remotely.
  CM_ASSIGN_OR_RETURN(auto source_limits, source.limits());
  CM_ASSIGN_OR_RETURN(auto target_limits, target.limits());
  if (in.prepared) {
    CM_RETURN_IF_ERROR(check_prepare_record(*in.prepared, run_id, o.shard ? o.shard->count : 0,
                                            prepare_config_hash(o, in), o.stage));
  }
  CM_ASSIGN_OR_RETURN(auto names, resolve_run_collections(o, in, source));
  CM_ASSIGN_OR_RETURN(const LostVectors lost, find_lost_vectors(persist, names));
  if (lost.total() && !o.allow_missing_vectors && !o.dry_run) {
    return refuse_lost_vectors(lost, source.describe(), false);
  }
  CM_ASSIGN_OR_RETURN(auto targets, plan_targets(o, in, run_id, source, target, names));
  const std::size_t batch =
      std::min({o.batch_size, source_limits.max_batch_size, target_limits.max_batch_size});
  if (batch < o.batch_size) spdlog::info("batch size lowered to {} (server limits)", batch);

  OpenRun run;
  RunManifest manifest;
  manifest.run_id = run_id;
  manifest.tool_version = CHROMA_MIGRATE_VERSION;
  manifest.started_at = now_iso8601();
  manifest.source = source.describe();
  manifest.target = target.describe();
  manifest.config = bound_config(o, in);
  manifest.source_collections = names;
  manifest.target_collections = targets;
  manifest.target_kind = target_kind;
  manifest.mapping_hash = in.mapping_hash;
  manifest.contract_version = in.contract_version;
  manifest.staged = o.stage;
  manifest.shard = o.shard;
  if (in.prepared) manifest.prepared = std::filesystem::absolute(o.prepared_dir).string();
  // Disk space: the export must fit in the work dir. Checked before anything is written (to the
  // work dir or the target); only the lock file exists if the operator created the dir.
  std::vector<std::string> backed_up;
  for (const auto& t : targets) {
    // A prepared shard's backup is in the prepared dir already.
    if (t.action != LedgerAction::kCreated && !in.prepared) backed_up.push_back(t.name);
  }
  CM_ASSIGN_OR_RETURN(auto source_samples, sample_collections(source, names));
  if (o.shard) {
    // A shard exports about 1/N of each collection (the hash split is even: tests/unit/shard_test).
    for (auto& sample : source_samples) {
      sample.count = (sample.count + o.shard->count - 1) / o.shard->count;
    }
  }
  CM_ASSIGN_OR_RETURN(auto backup_samples, sample_collections(target, backed_up));
  const SpaceEstimate space = estimate_work_space(std::move(source_samples), in.mapping.has_value(),
                                                  std::move(backup_samples));
  CM_ASSIGN_OR_RETURN(const std::uint64_t available, available_bytes(work.root()));
  spdlog::info("work dir space: about {} needed for {} records{}{}, {} available",
               human_bytes(space.needed_bytes), space.records,
               space.transformed_copy ? " (snapshot and transformed copy)" : "",
               space.backup_records
                   ? fmt::format(" and a backup of {} target records", space.backup_records)
                   : "",
               human_bytes(available));
  CM_RETURN_IF_ERROR(check_work_space(space, available, work.root()));
  CM_RETURN_IF_ERROR(ensure_directory(work.root()));
  CM_RETURN_IF_ERROR(restrict_work_dir(work));
  if (!lock) {
    CM_ASSIGN_OR_RETURN(lock, WorkDirLock::acquire(work.root(), "chroma-migrate"));
  }
  run.lock = std::move(lock);
  CM_RETURN_IF_ERROR(init_logging(
      "chroma-migrate", {work.log_file("chroma-migrate", manifest.run_id), o.verbose, o.quiet}));
  CM_ASSIGN_OR_RETURN(manifest.unrecoverable_at_source, record_lost_vectors(lost, work));
  CM_ASSIGN_OR_RETURN(run.manifest, RunManifestStore::create(work.run_manifest(), manifest));
  // The run is bound to these files (by hash); keep the exact bytes for validation and forensics.
  for (const auto& [from, to] : {std::pair{o.mapping_file, work.mapping_copy()},
                                 std::pair{o.contract_file, work.contract_copy()}}) {
    if (from.empty()) continue;
    CM_RETURN_IF_ERROR(ensure_directory(to.parent_path()));
    CM_ASSIGN_OR_RETURN(std::string bytes, read_file(from));
    CM_RETURN_IF_ERROR(write_file_atomic(to, bytes));
  }
  ckpt::Checkpoint initial;
  initial.run_id = manifest.run_id;
  initial.config = bound_config(o, in);
  initial.phase = ckpt::Phase::kExport;
  initial.progress(kStageInit, "run").finished = true;
  initial.progress(kStageInit, "run").details = {
      {"batch_size", batch}, {"target_max_batch", target_limits.max_batch_size}};
  CM_ASSIGN_OR_RETURN(run.checkpoint,
                      ckpt::CheckpointStore::create(work.checkpoint(), std::move(initial)));
  return run;
}

}  // namespace cm::migrate
