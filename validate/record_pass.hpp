// The one streaming read of the target that the record-level checks share. For each target
// collection of the run's ledger, in ledger order:
//   1. the expected records, part by part from the import snapshot, each batch of ~1,000 fetched
//      from the target by id (two fetches run ahead in the background while the observers work on
//      the current batch): every observer sees (expected record, target record or nullptr);
//   2. the target's own ids, paged with list_ids: ids the collection should not hold are fetched
//      and shown as unexpected; ids a merged collection held before the run (snapshots/backup)
//      are shown as retained (ids only: they are not this run's data). Skipped when the target's
//      count equals the records step 1 found there (ids are unique in a collection, so there is
//      nothing else), unless the run merged into the collection.
// Observers are called on the calling thread, one batch at a time, in snapshot order.
// Memory: the batches in flight (three of ~1,000 records, plus their snapshot parts), and the id
// hashes of a merged collection's backup.
// Observers keep whatever they need; each states its own memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/run/run_manifest.hpp"
#include "validate/check.hpp"

namespace cm::validate {

struct CollectionUnderTest {
  std::uint32_t index = 0;  // in ExpectedIndex::collections() (ledger order)
  const TargetCollectionEntry* entry = nullptr;
  CollectionInfo expected;               // the import snapshot's collection
  std::optional<CollectionInfo> actual;  // nullopt: the target has no such collection
  std::uint64_t expected_records = 0;    // in the import snapshot
  std::uint64_t actual_records = 0;      // target.count(); 0 when the collection is missing
  const std::string& name() const { return entry->name; }
};

class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  // Before the first collection; `ctx` outlives the pass and the check's run().
  virtual void begin_pass(const ValidationContext&) {}
  virtual void begin_collection(const CollectionUnderTest&) {}
  // `actual[i]` is the target's record with expected[i].id, nullptr when the target lacks it.
  virtual void on_expected(const CollectionUnderTest&, std::span<const Record> expected,
                           std::span<const Record* const> actual) = 0;
  // Records in the collection that the run did not bring and that were not there before it.
  virtual void on_unexpected(const CollectionUnderTest&, std::span<const Record>) {}
  // Ids of records a merged collection held before the run and still holds.
  virtual void on_retained(const CollectionUnderTest&, std::span<const std::string>) {}
  virtual Status end_collection(const CollectionUnderTest&) { return ok_status(); }
};

struct PassStats {
  double seconds = 0;  // wall time of the pass, observers included
  std::uint64_t expected_records = 0, fetched_records = 0, target_ids = 0;
  std::uint64_t collections_proven_by_count = 0;  // step 2 skipped: count = found
};

// Streams as described above. `seconds[i]` accumulates the time spent inside observers[i].
Result<PassStats> run_record_pass(ValidationContext& ctx,
                                  std::span<RecordObserver* const> observers,
                                  std::span<double> seconds);

}  // namespace cm::validate
