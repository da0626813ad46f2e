// What every migrate phase works with. Phases are resumable: each reads the checkpoint to skip
// finished work and records its own progress before returning.
#pragma once

#include <cstddef>

#include "checkpoints/checkpoint.hpp"
#include "common/run_manifest.hpp"
#include "common/store_decorators.hpp"
#include "common/vector_store.hpp"
#include "common/work_dir.hpp"
#include "migrate/migrate_options.hpp"

namespace cm::migrate {

struct PhaseContext {
  const MigrateOptions& options;
  WorkDir work;
  VectorStore& source;
  VectorStore& target;
  ckpt::CheckpointStore& checkpoint;
  RunManifestStore& manifest;
  StoreCounters& counters;
  std::size_t batch_size;  // effective, fixed at init and kept in the checkpoint
  std::size_t target_max_batch;
};

// Stage names used in the checkpoint.
inline constexpr const char* kStageScan = "scan";
inline constexpr const char* kStageExport = "export";
inline constexpr const char* kStageImport = "import";

Status run_export_phase(PhaseContext& ctx);
Status run_transform_phase(PhaseContext& ctx);
// Returns the records sent to the target by this invocation.
Result<std::uint64_t> run_import_phase(PhaseContext& ctx);
Status run_verify_phase(PhaseContext& ctx);

}  // namespace cm::migrate
