// Verify: every target collection holds exactly the expected number of records (for a merge, the
// union of what was there and what the run brought), has the planned distance space, and, with a
// contract, passes the postflight on what actually landed. A shard (--shard) checks that its share
// fits; the whole is validated over every shard's work dir.
#include <spdlog/spdlog.h>

#include "common/snapshot/snapshot_store.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {

Status run_verify_phase(PhaseContext& ctx) {
  const auto manifest = ctx.manifest.get();
  CM_ASSIGN_OR_RETURN(auto work, open_work_snapshot(ctx, ctx.work.resolve(manifest.import_snapshot),
                                                    SnapshotStore::Mode::kRead));
  VectorStore* snapshot = work.store.get();
  std::string problems;
  for (const auto& entry : manifest.target_collections) {
    const std::string where = manifest.data_location(entry);
    CM_ASSIGN_OR_RETURN(auto target, ctx.target.find_collection(where));
    if (!target) {
      problems += "\n  " + where + ": missing from the target";
      continue;
    }
    CM_ASSIGN_OR_RETURN(auto planned, snapshot->find_collection(entry.name));
    if (planned && planned->hnsw.space != target->hnsw.space) {
      problems += "\n  " + entry.name + ": space is " + target->hnsw.space + ", planned " +
                  planned->hnsw.space;
    }
    CM_ASSIGN_OR_RETURN(auto count, ctx.target.count(*target));
    // A shard's collections also hold the other shards' records (written before, during or after
    // this one): it can only check that its own share fits. The union is judged by
    // chroma-validate --work-dir D0 --work-dir D1 ... once every shard finished.
    if (ctx.options.shard && count >= entry.expected_records) {
      spdlog::info("verify {}: {} records, at least this shard's {}", entry.name, count,
                   entry.expected_records);
    } else if (count != entry.expected_records) {
      problems += "\n  " + entry.name + ": expected " + std::to_string(entry.expected_records) +
                  " records, target has " + std::to_string(count);
    } else {
      spdlog::info("verify {}: {} records, as expected", entry.name, count);
    }
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::kVerifyFailed,
                      "the target differs from what the run imported:" + problems +
                          "\nThe checkpoint is intact; investigate, then --resume re-verifies");
  }
  CM_RETURN_IF_ERROR(run_postflight(ctx));
  CM_RETURN_IF_ERROR(ctx.manifest.update([](RunManifest& m) {
    for (auto& entry : m.target_collections) entry.state = LedgerState::kVerified;
  }));
  return ctx.checkpoint.update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kComplete; });
}

}  // namespace cm::migrate
