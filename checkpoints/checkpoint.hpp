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
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/batch_set.hpp"
#include "common/base/error.hpp"
#include "common/base/json_document_store.hpp"

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

// Owns the checkpoint file: a JsonDocumentStore (common/base/json_document_store.hpp) that also
// stamps updated_at on every write. update() is thread-safe: it applies the change and persists it
// under one lock, so the file always reflects a prefix of the acknowledged work; a failed write
// leaves both the file and the value as they were.
class CheckpointStore {
 public:
  // kAlreadyExists when a checkpoint is already at `path`.
  static Result<std::unique_ptr<CheckpointStore>> create(const std::filesystem::path& path,
                                                         Checkpoint initial);
  // kCorruption ("checkpoint is unreadable ...") when the file is not a valid checkpoint.
  static Result<std::unique_ptr<CheckpointStore>> load(const std::filesystem::path& path);
  static bool exists(const std::filesystem::path& path);

  Checkpoint snapshot() const { return document_->get(); }
  Status update(const std::function<void(Checkpoint&)>& change);

 private:
  using Document = JsonDocumentStore<Checkpoint, checkpoint_to_json, checkpoint_from_json, 1>;
  explicit CheckpointStore(std::unique_ptr<Document> document) : document_(std::move(document)) {}

  std::unique_ptr<Document> document_;
};

}  // namespace cm::ckpt
