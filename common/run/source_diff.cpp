#include "common/run/source_diff.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <unordered_map>
#include <unordered_set>

#include "common/store/canonical.hpp"

namespace cm {
namespace {

class SourceDiff {
 public:
  SourceDiff(VectorStore& live, const CollectionInfo& live_c, VectorStore& snapshot,
             const CollectionInfo& snap_c, std::size_t batch, const SourceDiffVisitor& visit)
      : live_(live),
        live_c_(live_c),
        snapshot_(snapshot),
        snap_c_(snap_c),
        batch_(std::max<std::size_t>(1, batch)),
        visit_(visit) {}

  Result<SourceDiffCounts> run() {
    CM_RETURN_IF_ERROR(scan());
    CM_RETURN_IF_ERROR(deletions());
    return counts_;
  }

 private:
  static std::uint64_t hash(const std::string& id) { return xxh3_64(id); }

  void sample(const std::string& id) {
    if (counts_.samples.size() < SourceDiffCounts::kMaxSamples) counts_.samples.push_back(id);
  }

  // One page of the live collection: its ids and their records.
  struct Page {
    std::vector<std::string> listed;
    std::vector<Record> records;
  };

  Result<Page> fetch(std::uint64_t offset, std::uint32_t page) {
    Page p;
    CM_ASSIGN_OR_RETURN(p.listed, live_.list_ids(live_c_, offset, page));
    if (p.listed.empty()) return p;
    CM_ASSIGN_OR_RETURN(p.records, live_.get_records(live_c_, p.listed));
    return p;
  }

  // The next pages are read from the live store (kPrefetch at a time) while this one is compared
  // and applied (the visitor never touches the live store): the two ends overlap instead of
  // taking turns. Memory: kPrefetch + 1 pages.
  static constexpr std::size_t kPrefetch = 2;

  Status scan() {
    const auto page = static_cast<std::uint32_t>(batch_);
    std::deque<std::future<Result<Page>>> ahead;
    std::uint64_t requested = 0;  // offset of the next page to request
    bool end_seen = false;
    auto request = [&] {
      const std::uint64_t offset = requested;
      requested += page;
      ahead.push_back(
          std::async(std::launch::async, [this, offset, page] { return fetch(offset, page); }));
    };
    for (std::size_t i = 0; i < kPrefetch; ++i) request();
    while (!ahead.empty()) {
      CM_ASSIGN_OR_RETURN(Page current, ahead.front().get());
      ahead.pop_front();
      end_seen = end_seen || current.listed.size() < page;
      if (!end_seen) request();
      std::vector<Record> fresh;
      for (auto& r : current.records) {
        if (!seen_.contains(hash(r.id))) fresh.push_back(std::move(r));
      }
      if (!fresh.empty()) CM_RETURN_IF_ERROR(compare_records(std::move(fresh)));
      if (end_seen) break;  // pages requested past the end are empty
    }
    return ok_status();
  }

  // Reads the batch at both ends and hands on what differs.
  Status compare(const std::vector<std::string>& ids) {
    CM_ASSIGN_OR_RETURN(auto now, live_.get_records(live_c_, ids));
    return compare_records(std::move(now));
  }

  Status compare_records(std::vector<Record> now) {
    std::vector<std::string> ids;
    ids.reserve(now.size());
    for (const auto& r : now) ids.push_back(r.id);
    CM_ASSIGN_OR_RETURN(auto before, snapshot_.get_records(snap_c_, ids));
    std::unordered_map<std::string, const Record*> old_by_id;
    for (const auto& r : before) old_by_id.emplace(r.id, &r);
    std::vector<Record> changed;
    std::vector<const Record*> olds;
    for (auto& r : now) {
      seen_.insert(hash(r.id));  // only ids that still exist: the rest are deletion candidates
      auto it = old_by_id.find(r.id);
      if (it == old_by_id.end()) {
        ++counts_.added;
      } else if (record_digest(*it->second) != record_digest(r)) {
        ++counts_.changed;
      } else {
        continue;
      }
      sample(r.id);
      olds.push_back(it == old_by_id.end() ? nullptr : it->second);
      changed.push_back(std::move(r));
    }
    if (changed.empty()) return ok_status();
    return visit_(changed, olds, {});
  }

  // Snapshot ids the scan did not list: deleted once a get by id at the source confirms it.
  Status deletions() {
    std::vector<std::string> candidates;
    const auto page = static_cast<std::uint32_t>(batch_);
    for (std::uint64_t offset = 0;; offset += page) {
      CM_ASSIGN_OR_RETURN(auto ids, snapshot_.list_ids(snap_c_, offset, page));
      for (auto& id : ids) {
        if (!seen_.contains(hash(id))) candidates.push_back(std::move(id));
      }
      if (ids.size() < page) break;
    }
    for (std::size_t at = 0; at < candidates.size(); at += batch_) {
      const auto end = std::min(candidates.size(), at + batch_);
      std::vector<std::string> ids(candidates.begin() + static_cast<std::ptrdiff_t>(at),
                                   candidates.begin() + static_cast<std::ptrdiff_t>(end));
      CM_ASSIGN_OR_RETURN(auto still, live_.get_records(live_c_, ids));
      std::unordered_set<std::string> present;
      for (const auto& r : still) present.insert(r.id);
      std::vector<std::string> gone;
      for (auto& id : ids) {
        if (!present.contains(id)) gone.push_back(std::move(id));
      }
      // Records that exist but that the offset paging skipped: compared like the others.
      std::vector<std::string> skipped(present.begin(), present.end());
      if (!skipped.empty()) CM_RETURN_IF_ERROR(compare(skipped));
      if (gone.empty()) continue;
      CM_ASSIGN_OR_RETURN(auto before, snapshot_.get_records(snap_c_, gone));
      counts_.deleted += before.size();
      std::vector<const Record*> olds;
      for (const auto& r : before) {
        sample(r.id);
        olds.push_back(&r);
      }
      std::vector<Record> none;
      CM_RETURN_IF_ERROR(visit_(none, {}, olds));
    }
    return ok_status();
  }

  VectorStore& live_;
  const CollectionInfo& live_c_;
  VectorStore& snapshot_;
  const CollectionInfo& snap_c_;
  const std::size_t batch_;
  const SourceDiffVisitor& visit_;
  std::unordered_set<std::uint64_t> seen_;
  SourceDiffCounts counts_;
};

}  // namespace

Result<SourceDiffCounts> diff_source(VectorStore& live, const CollectionInfo& live_collection,
                                     VectorStore& snapshot,
                                     const CollectionInfo& snapshot_collection,
                                     std::size_t batch_size, const SourceDiffVisitor& visit) {
  return SourceDiff(live, live_collection, snapshot, snapshot_collection, batch_size, visit).run();
}

}  // namespace cm
