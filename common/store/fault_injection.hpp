// Deterministic fault injection for tests, configured by CHROMA_MIGRATE_FAULTS so that the real
// binaries can be crashed or failed at exact points:
//
//   CHROMA_MIGRATE_FAULTS="target.upsert=crash@3;source.get_records=transient@1-2"
//
// Rules are `<role>.<operation>=<action>@<calls>`, separated by ';'. Roles are the factory's
// (source, target, work). Operations that can fail: create_collection, delete_collection,
// rename_collection, update_collection_metadata, count, list_ids, get_records, upsert,
// remove_metadata_keys, delete_records, query. Actions:
//   crash@N       after the N-th call of the operation succeeded, SIGKILL this process: the server
//                 acknowledged the work but nothing after it (checkpoint, logs) happened.
//   stop@N        after the N-th call succeeded, SIGSTOP this process: a test changes the world
//                 at that exact point (fills the work dir's disk, ...), then sends SIGCONT.
//   transient@A-B calls A..B (1-based, B optional = forever) fail with kTransient, unsent.
//   reject@N      call N fails with kRejected (HTTP 400), unsent.
//   corrupt@N     upsert only: call N is sent with the first record's first embedding value
//                 shifted by 0.01 and reports success: a silent corruption that counts cannot see
//                 (what chroma-validate exists to catch; the demo's failing run uses it).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm {

struct FaultRule {
  enum class Action { kCrash, kStop, kTransient, kReject, kCorrupt };
  std::string role;
  std::string op;
  Action action = Action::kTransient;
  std::uint64_t first = 1;
  std::uint64_t last = 1;  // UINT64_MAX = forever
};

Result<std::vector<FaultRule>> parse_fault_spec(const std::string& spec);

class FaultInjectingStore final : public ForwardingStore {
 public:
  FaultInjectingStore(std::unique_ptr<VectorStore> inner, std::vector<FaultRule> rules);

  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status rename_collection(const CollectionInfo& c, const std::string& new_name) override;
  Status update_collection_metadata(const CollectionInfo& c, const Metadata& metadata) override;
  Result<std::uint64_t> count(const CollectionInfo& c) override;
  Result<std::vector<std::string>> list_ids(const CollectionInfo& c, std::uint64_t offset,
                                            std::uint32_t limit) override;
  Result<std::vector<Record>> get_records(const CollectionInfo& c,
                                          std::span<const std::string> ids) override;
  Status upsert(const CollectionInfo& c, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& c,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& c, std::span<const std::string> ids) override;
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& c,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;

 private:
  // Counts the call and applies the matching rules; `corrupted` is set for a kCorrupt rule.
  template <typename F>
  auto inject(const std::string& op, F&& call, bool* corrupted = nullptr) -> decltype(call());

  std::vector<FaultRule> rules_;
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> calls_;
};

}  // namespace cm
