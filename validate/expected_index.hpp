// Where every expected record belongs: its target collection and its group (the source collection
// and, with a mapping, the route that sent it there). Built once before the checks run, from the
// import snapshot's ids and, with a mapping, by re-running the mapping over the export (the
// transform is a pure function of the mapping, the record and the run's id and start time, so it
// reproduces the run's routing exactly).
//
// Memory: one 24-byte entry per expected record (128-bit id hash + two u32, in a sorted array),
// never the records themselves.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/run/run_manifest.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "contracts/mapping.hpp"

namespace cm::validate {

struct Placement {
  std::uint32_t collection = 0;  // index into ExpectedIndex::collections()
  std::uint32_t group = 0;       // index into ExpectedIndex::groups()
};

class ExpectedIndex {
 public:
  // The group of records whose route could not be re-derived (e.g. the export changed since).
  static constexpr std::uint32_t kUnattributed = 0;

  // `expected` is the import snapshot; `exported` the export (read only with a mapping).
  static Result<ExpectedIndex> build(SnapshotStore& expected, SnapshotStore& exported,
                                     const RunManifest& manifest,
                                     const contracts::Mapping* mapping);

  // The ledger's target collections, in ledger order.
  const std::vector<std::string>& collections() const { return collections_; }
  std::optional<std::uint32_t> collection_index(const std::string& name) const;
  // "kb_articles" without a mapping, "kb_articles -> english kb" with one; [0] is "unattributed".
  const std::vector<std::string>& groups() const { return groups_; }
  // Every placement of an id: usually one, several when records with the same id were sent to
  // different target collections. Empty when the id is expected nowhere.
  std::vector<Placement> placements(const IdHash& id) const;
  std::optional<Placement> placement_in(const IdHash& id, std::uint32_t collection) const;
  // Expected records per (collection, group).
  const std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t>& group_counts() const {
    return group_counts_;
  }
  std::uint64_t size() const { return size_; }

 private:
  void add(const IdHash& id, Placement placement);
  std::uint32_t group_index(const std::string& name);

  std::vector<std::string> collections_;
  std::vector<std::string> groups_{"unattributed"};
  IdHashTable<Placement> placements_;  // several entries for an id sent to several collections
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> group_counts_;
  std::uint64_t size_ = 0;
};

}  // namespace cm::validate
