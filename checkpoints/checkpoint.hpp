// The migration checkpoint: which phase a run is in and which batches of which stage are done.
// Stored as JSON in the work directory and rewritten atomically (temp, fsync, rename) after every
// acknowledged batch, so a crash at any instant leaves either the previous or the next state and a
// resume re-sends at most the batches that were in flight.
//
// A checkpoint is bound to the run's configuration: `config` is kept verbatim and `config_hash`
// over its canonical form; a resume with a different configuration is refused with the differing
// fields named.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/batch_set.hpp"
#include "common/base/error.hpp"

namespace cm::ckpt {

enum class Phase { kInit, kExport, kTransform, kImport, kVerify, kComplete };
const char* phase_name(Phase phase);
std::optional<Phase> phase_from_name(const std::string& name);

// Progress of one collection in one stage ("scan", "export", "import", ...).
struct StageProgress {
  std::size_t total_batches = 0;
  BatchSet done;
  bool finished = false;
  nlohmann::json details = nlohmann::json::object();  // stage-specific facts (e.g. id counts)
};

struct Checkpoint {
  static constexpr int kFormatVersion = 1;
  std::string run_id;
  nlohmann::json config = nlohmann::json::object();
  std::string config_hash;
  Phase phase = Phase::kInit;
  // stage -> collection -> progress
  std::map<std::string, std::map<std::string, StageProgress>> stages;
  std::string updated_at;

  StageProgress& progress(const std::string& stage, const std::string& collection) {
    return stages[stage][collection];
  }
  const StageProgress* find(const std::string& stage, const std::string& collection) const;
};

// xxh3-128 (hex) over the canonical (sorted-key, compact) JSON text.
std::string hash_config(const nlohmann::json& config);
// Human-readable list of top-level keys whose values differ ("batch_size: 1000 -> 500").
std::string describe_config_difference(const nlohmann::json& before, const nlohmann::json& after);

nlohmann::json checkpoint_to_json(const Checkpoint& checkpoint);
Result<Checkpoint> checkpoint_from_json(const nlohmann::json& json);

// Owns the checkpoint file. update() is thread-safe: it applies the change and persists it under
// one lock, so the file always reflects a prefix of the acknowledged work.
class CheckpointStore {
 public:
  static Result<std::unique_ptr<CheckpointStore>> create(const std::filesystem::path& path,
                                                         Checkpoint initial);
  static Result<std::unique_ptr<CheckpointStore>> load(const std::filesystem::path& path);
  static bool exists(const std::filesystem::path& path);

  Checkpoint snapshot() const;
  Status update(const std::function<void(Checkpoint&)>& change);

 private:
  CheckpointStore(std::filesystem::path path, Checkpoint state)
      : path_(std::move(path)), state_(std::move(state)) {}
  Status persist_locked();

  std::filesystem::path path_;
  mutable std::mutex mutex_;
  Checkpoint state_;
};

}  // namespace cm::ckpt
