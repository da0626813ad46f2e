#include "validate/record_pass.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/expected_index.hpp"

namespace cm::validate {
namespace {

constexpr std::size_t kFetchBatch = 1000;  // within the server's max_batch_size (run())
constexpr std::size_t kInFlight = 2;       // target fetches running while observers work
constexpr std::uint32_t kIdPage = 1000;

using Clock = std::chrono::steady_clock;

// Calls `f` on every observer, charging the time to that observer.
template <typename F>
void each(std::span<RecordObserver* const> observers, std::span<double> seconds, F&& f) {
  for (std::size_t i = 0; i < observers.size(); ++i) {
    const auto start = Clock::now();
    f(*observers[i]);
    seconds[i] += std::chrono::duration<double>(Clock::now() - start).count();
  }
}

class Pass {
 public:
  Pass(ValidationContext& ctx, std::span<RecordObserver* const> observers,
       std::span<double> seconds)
      : ctx_(ctx), observers_(observers), seconds_(seconds) {}

  Result<PassStats> run() {
    const auto start = Clock::now();
    CM_ASSIGN_OR_RETURN(auto limits, ctx_.target.limits());
    batch_ = std::max<std::size_t>(1, std::min(kFetchBatch, limits.max_batch_size));
    each(observers_, seconds_, [&](RecordObserver& o) { o.begin_pass(ctx_); });
    const auto& ledger = ctx_.manifest.target_collections;
    for (std::uint32_t c = 0; c < ledger.size(); ++c) {
      CM_RETURN_IF_ERROR(collection(c, ledger[c]));
    }
    stats_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return stats_;
  }

 private:
  Status collection(std::uint32_t c, const TargetCollectionEntry& entry) {
    CollectionUnderTest cut;
    cut.index = c;
    cut.entry = &entry;
    CM_ASSIGN_OR_RETURN(auto expected, ctx_.expected.find_collection(entry.name));
    if (!expected) {
      return make_error(ErrorCode::kCorruption, "the import snapshot lacks '" + entry.name + "'");
    }
    cut.expected = *expected;
    CM_ASSIGN_OR_RETURN(cut.expected_records, ctx_.expected.count(cut.expected));
    // A staged run's data lives in its staging collection until the cutover.
    CM_ASSIGN_OR_RETURN(cut.actual,
                        ctx_.target.find_collection(ctx_.manifest.data_location(entry)));
    if (cut.actual) {
      CM_ASSIGN_OR_RETURN(cut.actual_records, ctx_.target.count(*cut.actual));
    }
    spdlog::debug("record pass: {} ({} expected, {} in the target)", entry.name,
                  cut.expected_records, cut.actual_records);
    each(observers_, seconds_, [&](RecordObserver& o) { o.begin_collection(cut); });
    found_ = 0;
    CM_RETURN_IF_ERROR(expected_records(cut));
    if (cut.actual) {
      if (holds_only_expected(cut)) {
        ++stats_.collections_proven_by_count;
      } else {
        CM_RETURN_IF_ERROR(target_ids(cut));
      }
    }
    for (std::size_t i = 0; i < observers_.size(); ++i) {
      const auto start = Clock::now();
      auto status = observers_[i]->end_collection(cut);
      seconds_[i] += std::chrono::duration<double>(Clock::now() - start).count();
      CM_RETURN_IF_ERROR(status);
    }
    return ok_status();
  }

  // One batch of expected records and the target's answer for their ids, fetched in the
  // background so that the next fetch overlaps the observers' work on this one.
  struct Pending {
    std::shared_ptr<const std::vector<Record>> part;  // keeps `batch` alive
    std::span<const Record> batch;
    std::future<Result<std::vector<Record>>> got;
  };

  // Step 1: every expected record next to what the target holds under its id.
  Status expected_records(const CollectionUnderTest& cut) {
    CM_ASSIGN_OR_RETURN(std::size_t parts, ctx_.expected.part_count(cut.name()));
    std::deque<Pending> in_flight;
    for (std::size_t p = 0; p < parts; ++p) {
      CM_ASSIGN_OR_RETURN(auto records, ctx_.expected.read_part(cut.name(), p));
      auto part = std::make_shared<const std::vector<Record>>(std::move(records));
      for (std::size_t start = 0; start < part->size(); start += batch_) {
        std::span<const Record> batch(part->data() + start, std::min(batch_, part->size() - start));
        in_flight.push_back({part, batch, fetch(cut, batch)});
        if (in_flight.size() > kInFlight) {
          CM_RETURN_IF_ERROR(deliver(cut, in_flight.front()));
          in_flight.pop_front();
        }
      }
    }
    for (; !in_flight.empty(); in_flight.pop_front())
      CM_RETURN_IF_ERROR(deliver(cut, in_flight.front()));
    return ok_status();
  }

  std::future<Result<std::vector<Record>>> fetch(const CollectionUnderTest& cut,
                                                 std::span<const Record> batch) {
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    for (const auto& r : batch) ids.push_back(r.id);
    // VectorStore methods may be called from several threads.
    return std::async(
        std::launch::async,
        [this, actual = cut.actual, ids = std::move(ids)]() -> Result<std::vector<Record>> {
          if (!actual) return std::vector<Record>{};
          return ctx_.target.get_records(*actual, ids);
        });
  }

  Status deliver(const CollectionUnderTest& cut, Pending& pending) {
    CM_ASSIGN_OR_RETURN(auto got, pending.got.get());
    std::unordered_map<std::string_view, const Record*> by_id;
    for (const auto& r : got) by_id.emplace(r.id, &r);
    std::vector<const Record*> actual;
    actual.reserve(pending.batch.size());
    for (const auto& r : pending.batch) {
      auto it = by_id.find(r.id);
      actual.push_back(it == by_id.end() ? nullptr : it->second);
    }
    stats_.expected_records += pending.batch.size();
    stats_.fetched_records += got.size();
    found_ += got.size();
    each(observers_, seconds_,
         [&](RecordObserver& o) { o.on_expected(cut, pending.batch, actual); });
    return ok_status();
  }

  // Ids are unique within a collection, so when the target's count equals the expected records
  // the fetch by id found there, the collection holds nothing else: step 2 (one more read of every
  // id) would find nothing. A merged collection still holds its other records: always listed.
  bool holds_only_expected(const CollectionUnderTest& cut) const {
    return cut.entry->action != LedgerAction::kMerged && found_ == cut.actual_records;
  }

  // A merged collection's records from before the run (snapshots/backup), as id hashes.
  Result<IdHashSet> backup_ids(const CollectionUnderTest& cut) {
    IdHashSet out;
    if (cut.entry->action != LedgerAction::kMerged) return out;
    if (!backup_) {
      const std::string rel =
          ctx_.manifest.backup.value("path", WorkDir::snapshot_relative(WorkDir::kBackupSnapshot));
      CM_ASSIGN_OR_RETURN(backup_,
                          // Direct open: see run_validation (validator.cpp) on why validation reads
                          // snapshots unwrapped.
                          SnapshotStore::open(ctx_.work.resolve(rel), SnapshotStore::Mode::kRead));
    }
    CM_ASSIGN_OR_RETURN(auto info, backup_->find_collection(cut.name()));
    if (!info) return out;
    for (std::uint64_t offset = 0;; offset += 10000) {
      CM_ASSIGN_OR_RETURN(auto ids, backup_->list_ids(*info, offset, 10000));
      for (const auto& id : ids) out.insert(id_hash(id));
      if (ids.size() < 10000) return out;
    }
  }

  // Step 2: the target's ids that are not expected there.
  Status target_ids(const CollectionUnderTest& cut) {
    CM_ASSIGN_OR_RETURN(auto retained_set, backup_ids(cut));
    std::vector<std::string> unexpected, retained;
    // Hands full batches (all that is left when `last`) to the observers.
    auto flush = [&](bool last) -> Status {
      if (!retained.empty() && (last || retained.size() >= batch_)) {
        each(observers_, seconds_, [&](RecordObserver& o) { o.on_retained(cut, retained); });
        retained.clear();
      }
      while (!unexpected.empty() && (last || unexpected.size() >= batch_)) {
        const std::size_t n = std::min(batch_, unexpected.size());
        std::span<const std::string> ids(unexpected.data(), n);
        CM_ASSIGN_OR_RETURN(auto records, ctx_.target.get_records(*cut.actual, ids));
        stats_.fetched_records += records.size();
        each(observers_, seconds_, [&](RecordObserver& o) { o.on_unexpected(cut, records); });
        unexpected.erase(unexpected.begin(), unexpected.begin() + static_cast<std::ptrdiff_t>(n));
      }
      return ok_status();
    };
    for (std::uint64_t offset = 0;; offset += kIdPage) {
      CM_ASSIGN_OR_RETURN(auto ids, ctx_.target.list_ids(*cut.actual, offset, kIdPage));
      stats_.target_ids += ids.size();
      for (auto& id : ids) {
        const IdHash h = id_hash(id);
        if (ctx_.index->placement_in(h, cut.index)) continue;
        (retained_set.contains(h) ? retained : unexpected).push_back(std::move(id));
      }
      CM_RETURN_IF_ERROR(flush(false));
      if (ids.size() < kIdPage) break;
    }
    return flush(true);
  }

  ValidationContext& ctx_;
  std::span<RecordObserver* const> observers_;
  std::span<double> seconds_;
  std::size_t batch_ = kFetchBatch;
  std::unique_ptr<SnapshotStore> backup_;
  std::uint64_t found_ = 0;  // target records the current collection's expected ids found
  PassStats stats_;
};

}  // namespace

Result<PassStats> run_record_pass(ValidationContext& ctx,
                                  std::span<RecordObserver* const> observers,
                                  std::span<double> seconds) {
  if (!ctx.index) return make_error(ErrorCode::kInternal, "record pass without an expected index");
  return Pass(ctx, observers, seconds).run();
}

}  // namespace cm::validate
