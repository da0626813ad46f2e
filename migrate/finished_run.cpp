#include "migrate/finished_run.hpp"

namespace cm::migrate {

std::unexpected<Error> refuse_for_run(const char* flag, const std::string& run_id,
                                      const std::string& why) {
  return make_error(ErrorCode::kConfigMismatch,
                    std::string(flag) + " refused for run " + run_id + ": " + why);
}

Result<FinishedRun> open_finished_run(const std::filesystem::path& work_dir, const char* flag) {
  FinishedRun run{
      .work = WorkDir(work_dir), .lock = nullptr, .manifest = nullptr, .checkpoint = {}};
  if (!std::filesystem::exists(run.work.run_manifest())) {
    return make_error(ErrorCode::kInvalidArgument,
                      work_dir.string() + " is not a chroma-migrate work directory (no run.json)");
  }
  CM_ASSIGN_OR_RETURN(run.lock, WorkDirLock::acquire(run.work.root(), "chroma-migrate"));
  CM_ASSIGN_OR_RETURN(run.manifest, RunManifestStore::load(run.work.run_manifest()));
  const auto m = run.manifest->get();
  if (!m.rolled_back_at.empty()) {
    return refuse_for_run(
        flag, m.run_id,
        "it was rolled back at " + m.rolled_back_at + "; start a new run in a new --work-dir");
  }
  if (m.shard) {
    // A shard's snapshot holds 1/N of each collection: a sync would take the other shards'
    // records for additions, and a cutover would judge a whole collection by one share.
    return refuse_for_run(flag, m.run_id,
                          "it is shard " + m.shard->to_string() +
                              " of a sharded run; --sync, --cutover and --finalize of sharded runs "
                              "are not supported (chroma-validate and chroma-rollback take every "
                              "shard's --work-dir)");
  }
  CM_ASSIGN_OR_RETURN(auto checkpoint, ckpt::CheckpointStore::load(run.work.checkpoint()));
  run.checkpoint = checkpoint->snapshot();
  if (m.dry_run || run.checkpoint.phase != ckpt::Phase::kComplete) {
    return refuse_for_run(flag, m.run_id,
                          std::string("the migration is not complete (phase ") +
                              ckpt::phase_name(run.checkpoint.phase) +
                              (m.dry_run ? ", last invocation a dry run" : "") +
                              "); finish it with chroma-migrate --resume first");
  }
  return run;
}

}  // namespace cm::migrate
