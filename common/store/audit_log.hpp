// Append-only audit trail (JSON lines) of every mutating call a run makes on its target: time,
// run id, actor (user@host), store, action, collection, record count, outcome. Written with
// O_APPEND and fsync per line: the trail is evidence, it must survive the crash it may explain.
// If a line cannot be written the call's result is replaced by that I/O error, so a run never
// continues unaudited.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/store/vector_store.hpp"

namespace cm {

std::string current_actor();  // "user@host"

class AuditLog {
 public:
  // The file is created on the first append, so a run refused before its first write leaves none.
  static std::shared_ptr<AuditLog> open(const std::filesystem::path& file, std::string run_id);
  ~AuditLog();
  // Adds time, run_id and actor to `entry` and appends it as one line.
  Status append(nlohmann::json entry);
  const std::filesystem::path& file() const { return file_; }

 private:
  AuditLog(std::filesystem::path file, std::string run_id)
      : file_(std::move(file)), run_id_(std::move(run_id)), actor_(current_actor()) {}
  std::filesystem::path file_;
  int fd_ = -1;
  std::string run_id_, actor_;
  std::mutex mutex_;
};

class AuditingStore final : public ForwardingStore {
 public:
  AuditingStore(std::unique_ptr<VectorStore> inner, std::shared_ptr<AuditLog> log);

  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status upsert(const CollectionInfo& c, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& c,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& c, std::span<const std::string> ids) override;
  Status update_collection_metadata(const CollectionInfo& c, const Metadata& metadata) override;
  // Logged with the collection's id and both names: the line a crashed cutover is reconciled by.
  Status rename_collection(const CollectionInfo& c, const std::string& new_name) override;

 private:
  template <typename R>
  R audited(const char* action, const std::string& collection, std::size_t records, R result,
            nlohmann::json extra = nlohmann::json::object());

  std::shared_ptr<AuditLog> log_;
};

}  // namespace cm
