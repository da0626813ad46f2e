// Setting up a chroma-migrate run before any phase runs: loading and binding the inputs, the
// init-phase checks (nothing is written until they all pass), and starting or resuming a run.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/checkpoint.hpp"
#include "common/run/prepare_record.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/store/vector_store.hpp"
#include "contracts/contract.hpp"
#include "contracts/mapping.hpp"
#include "migrate/migrate_options.hpp"

namespace cm::migrate {

inline constexpr const char* kStageInit = "init";

// Loaded before anything connects: a bad mapping or contract is a usage error with nothing written.
struct Inputs {
  std::optional<contracts::Mapping> mapping;
  std::optional<contracts::Contract> contract;
  std::string mapping_hash, contract_version;
  // --prepared DIR: its record, checksum verified (common/run/prepare_record.hpp).
  std::optional<PrepareRecord> prepared;
};

struct OpenRun {
  std::unique_ptr<WorkDirLock> lock;  // held for the whole invocation
  std::unique_ptr<ckpt::CheckpointStore> checkpoint;
  std::unique_ptr<RunManifestStore> manifest;
  bool resumed = false;
};

Status validate_options(const MigrateOptions& o);
Result<Inputs> load_inputs(const MigrateOptions& o);
std::string generate_run_id();
// Loads the checkpoint and manifest; refuses when the flags differ from the run's (fields named).
// chmod 0700 of the work dir root when it is group/other accessible (a directory the operator
// created, or a run started by an older version), with a warning naming the old mode. Called when a
// run starts in it or resumes it; what is inside keeps its modes (without x on the root nobody else
// reaches it).
Status restrict_work_dir(const WorkDir& work);

// The hash of the configuration a prepare record is bound to: the shards' bound configuration
// without the shard and the prepared dir (the same for --prepare and every shard).
std::string prepare_config_hash(const MigrateOptions& o, const Inputs& in);
// The source collections the run reads (--collections or the mapping's, else all) and the target
// collections it will write with what it does to each (--if-exists), as start_run plans them.
Result<std::vector<std::string>> resolve_run_collections(const MigrateOptions& o, const Inputs& in,
                                                         VectorStore& source);
Result<std::vector<TargetCollectionEntry>> plan_targets(const MigrateOptions& o, const Inputs& in,
                                                        const std::string& run_id,
                                                        VectorStore& source, VectorStore& target,
                                                        const std::vector<std::string>& sources);

Result<OpenRun> resume_run(const MigrateOptions& o, const WorkDir& work, const Inputs& in);
// The init phase: limits, collections, target plan and --if-exists conflicts, then the work dir
// (locked at once, unless `lock` already holds it), run.json, input copies and the first
// checkpoint.
// `persist`: the source's persist store when it is a persist directory (else null): its records
// without a vector are refused here, before anything is written, unless allowed
// (migrate/lost_vectors.hpp).
Result<OpenRun> start_run(const MigrateOptions& o, const Inputs& in, const std::string& run_id,
                          TargetKind target_kind, const WorkDir& work, VectorStore& source,
                          VectorStore& target, std::unique_ptr<WorkDirLock> lock,
                          PersistStore* persist);

}  // namespace cm::migrate
