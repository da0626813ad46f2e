#include "rollback/verify.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "common/base/batch_runner.hpp"
#include "common/base/clock.hpp"
#include "common/run/store_factory.hpp"
#include "common/store/embedding_compare.hpp"
#include "rollback/merge_restore.hpp"

namespace cm::rollback {
namespace {

constexpr std::size_t kMaxProblems = 10;

void note(CollectionCheck& c, std::string problem) {
  c.ok = false;
  if (c.problems.size() < kMaxProblems) c.problems.push_back(std::move(problem));
}

std::string record_difference(const std::string& space, const Record& want, const Record& got) {
  if (want.document != got.document) return "document differs";
  if (want.uri != got.uri) return "uri differs";
  if (want.metadata != got.metadata) {
    return "metadata " + metadata_to_json(want.metadata).dump() + " vs " +
           metadata_to_json(got.metadata).dump();
  }
  auto d = compare_embeddings(space, want.embedding, got.embedding);
  if (!d.equivalent)
    return fmt::format("embedding differs (max abs error {:.3g})", d.max_abs_error);
  return "";
}

// Every record of the backup's collection `name`, fetched from the target by id and compared.
Status compare_records(CollectionCheck& check, VectorStore& target, const CollectionInfo& live,
                       SnapshotStore& backup, const std::string& space, std::size_t workers,
                       std::size_t max_batch) {
  CM_ASSIGN_OR_RETURN(std::size_t parts, backup.part_count(check.name));
  std::atomic<std::uint64_t> compared{0}, mismatches{0};
  std::mutex mu;
  BatchWork work;
  work.run = [&](std::size_t part) -> Result<std::size_t> {
    CM_ASSIGN_OR_RETURN(auto expected, backup.read_part(check.name, part));
    for (std::size_t at = 0; at < expected.size(); at += max_batch) {
      const std::size_t end = std::min(expected.size(), at + max_batch);
      std::vector<std::string> ids;
      for (std::size_t k = at; k < end; ++k) ids.push_back(expected[k].id);
      CM_ASSIGN_OR_RETURN(auto actual, target.get_records(live, ids));
      std::unordered_map<std::string, const Record*> by_id;
      for (const auto& r : actual) by_id[r.id] = &r;
      for (std::size_t k = at; k < end; ++k) {
        ++compared;
        auto it = by_id.find(expected[k].id);
        std::string why =
            it == by_id.end() ? "missing" : record_difference(space, expected[k], *it->second);
        if (why.empty()) continue;
        ++mismatches;
        std::lock_guard lock(mu);
        note(check, "record " + expected[k].id + ": " + why);
      }
    }
    return expected.size();
  };
  work.completed = [](std::size_t, std::size_t) { return ok_status(); };
  CM_RETURN_IF_ERROR(run_batches(
      parts, [](std::size_t) { return false; }, workers, work));
  check.records_compared = compared.load();
  check.mismatches = mismatches.load();
  return ok_status();
}

}  // namespace

Result<CollectionCheck> check_equal_to_snapshot(const std::string& name, VectorStore& target,
                                                SnapshotStore* backup, std::size_t workers,
                                                std::size_t max_batch, const std::string& expect) {
  CollectionCheck c;
  c.name = name;
  c.expect = expect;
  const auto manifest = backup ? backup->manifest() : std::nullopt;
  const auto* bc = manifest ? manifest->find(name) : nullptr;
  if (!bc) {
    note(c, "the snapshot does not hold it");
    return c;
  }
  c.expected_records = bc->record_count;
  CM_ASSIGN_OR_RETURN(auto live, target.find_collection(name));
  if (!live) {
    note(c, "missing from the target");
    return c;
  }
  CM_ASSIGN_OR_RETURN(c.actual_records, target.count(*live));
  if (c.actual_records != c.expected_records) {
    note(c, fmt::format("count {} (backup {})", c.actual_records, c.expected_records));
  }
  if (!(live->hnsw == bc->info.hnsw)) {
    note(c, "hnsw configuration " + hnsw_to_json(live->hnsw).dump() + " (backup " +
                hnsw_to_json(bc->info.hnsw).dump() + ")");
  }
  if (live->metadata != bc->info.metadata) {
    note(c, "collection metadata " + metadata_to_json(live->metadata).dump() + " (backup " +
                metadata_to_json(bc->info.metadata).dump() + ")");
  }
  CM_RETURN_IF_ERROR(
      compare_records(c, target, *live, *backup, bc->info.hnsw.space, workers, max_batch));
  return c;
}

namespace {

Result<CollectionCheck> check_untouched(const std::string& name, VectorStore& target,
                                        SnapshotStore* backup) {
  CollectionCheck c;
  c.name = name;
  c.expect = "untouched";
  const auto manifest = backup ? backup->manifest() : std::nullopt;
  const auto* bc = manifest ? manifest->find(name) : nullptr;
  if (bc) c.expected_records = bc->record_count;
  CM_ASSIGN_OR_RETURN(auto live, target.find_collection(name));
  if (!live) {
    note(c, "missing from the target");
    return c;
  }
  CM_ASSIGN_OR_RETURN(c.actual_records, target.count(*live));
  if (bc && !bc->info.id.empty() && live->id != bc->info.id) {
    note(c, "is collection " + live->id + ", not the pre-run collection " + bc->info.id);
  }
  return c;
}

}  // namespace

std::uint64_t Verification::records_compared() const {
  std::uint64_t n = 0;
  for (const auto& c : collections) n += c.records_compared;
  return n;
}
std::uint64_t Verification::mismatches() const {
  std::uint64_t n = 0;
  for (const auto& c : collections) n += c.mismatches;
  return n;
}
bool Verification::ok() const {
  for (const auto& c : collections) {
    if (!c.ok) return false;
  }
  return source.status != SourceStatus::kMismatch;
}

Result<Verification> verify_rollback(const Journal& j, VectorStore& target, SnapshotStore* backup,
                                     SnapshotStore* import, std::size_t workers,
                                     std::size_t max_batch) {
  const auto start = std::chrono::steady_clock::now();
  Verification v;
  for (const auto& name : j.equal_to_backup) {
    CM_ASSIGN_OR_RETURN(auto check,
                        check_equal_to_snapshot(name, target, backup, workers, max_batch));
    v.collections.push_back(std::move(check));
  }
  for (const auto& m : j.merges) {
    CM_ASSIGN_OR_RETURN(auto check, verify_merged(m, target, backup, import, max_batch));
    v.collections.push_back(std::move(check));
  }
  for (const auto& name : j.untouched) {
    CM_ASSIGN_OR_RETURN(auto check, check_untouched(name, target, backup));
    v.collections.push_back(std::move(check));
  }
  for (const auto& name : j.must_be_gone) {
    CollectionCheck c;
    c.name = name;
    c.expect = "gone";
    CM_ASSIGN_OR_RETURN(auto found, target.find_collection(name));
    if (found) {
      CM_ASSIGN_OR_RETURN(c.actual_records, target.count(*found));
      note(c, fmt::format("still exists (collection {}, {} records)", found->id, c.actual_records));
    }
    v.collections.push_back(std::move(c));
  }
  v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return v;
}

SourceCheck check_source(const RollbackOptions& o, const RunManifest& m, const WorkDir& work) {
  SourceCheck s;
  // Direct open: a read-only comparison through the snapshot's manifest and part reads.
  auto export_snapshot =
      SnapshotStore::open(work.snapshot(WorkDir::kSourceSnapshot), SnapshotStore::Mode::kRead);
  if (!export_snapshot) {
    s.detail =
        "no sealed export snapshot to compare with (" + export_snapshot.error().message + ")";
    return s;
  }
  auto uri = recorded_store_uri(o.source_uri, m.source, "--source");
  if (!uri) {
    s.detail = uri.error().message;
    return s;
  }
  StoreOpenOptions options;
  options.scratch_dir = work.scratch_dir();  // a persist source's private copy of its database
  // A persist source as the run read it: without the records it listed as lost there.
  options.skip_unrecoverable = !m.unrecoverable_at_source.empty();
  const auto target_uri = recorded_store_uri(o.target_uri, m.target, "--target");
  auto tokens = resolve_store_tokens(o.tokens, &*uri, target_uri ? &*target_uri : nullptr);
  if (!tokens) {  // run_rollback refused this before contacting anything; kept for other callers
    s.detail = tokens.error().message;
    return s;
  }
  options.token = tokens->source;
  options.retry = {2, std::chrono::milliseconds(100), std::chrono::milliseconds(500)};
  auto source = open_store(*uri, StoreRole::kSource, options);
  if (!source) {
    s.detail = "cannot open " + uri->redacted() + ": " + source.error().message;
    return s;
  }
  auto listed = (*source)->list_collections();
  if (!listed) {
    s.detail = "unreachable: " + listed.error().message;
    return s;
  }
  const auto manifest = (*export_snapshot)->manifest();
  for (const auto& c : manifest->collections) {
    const CollectionInfo* found = nullptr;
    for (const auto& l : *listed) {
      if (l.name == c.info.name) found = &l;
    }
    if (!found) {
      s.problems.push_back("collection '" + c.info.name + "' is gone from the source");
      continue;
    }
    auto n = (*source)->count(*found);
    if (!n) {
      s.detail = "unreachable: " + n.error().message;
      s.problems.clear();
      return s;
    }
    if (*n != c.record_count) {
      s.problems.push_back(
          fmt::format("'{}' holds {} records, the export {}", c.info.name, *n, c.record_count));
    }
  }
  s.status = s.problems.empty() ? SourceStatus::kOk : SourceStatus::kMismatch;
  s.detail = fmt::format("{} exported collection(s) of {} compared by count",
                         manifest->collections.size(), uri->redacted());
  return s;
}

nlohmann::json verification_to_json(const Verification& v) {
  auto collections = nlohmann::json::array();
  for (const auto& c : v.collections) {
    collections.push_back({{"name", c.name},
                           {"expect", c.expect},
                           {"ok", c.ok},
                           {"expected_records", c.expected_records},
                           {"actual_records", c.actual_records},
                           {"records_compared", c.records_compared},
                           {"mismatches", c.mismatches},
                           {"problems", c.problems}});
  }
  return {{"ok", v.ok()},
          {"records_compared", v.records_compared()},
          {"record_mismatches", v.mismatches()},
          {"collections", collections},
          {"source",
           {{"status", enum_name(v.source.status)},
            {"detail", v.source.detail},
            {"problems", v.source.problems}}},
          {"seconds", v.seconds}};
}

Status record_verification(JournalStore& journal, const Verification& v) {
  return journal.update([&](Journal& j) {
    j.finished_at = now_iso8601();
    j.actions.push_back({.action = ActionKind::kVerify,
                         .collection = "",
                         .detail = std::to_string(v.records_compared()) + " records compared, " +
                                   std::to_string(v.mismatches()) + " mismatches",
                         .at = j.finished_at,
                         .seconds = v.seconds});
  });
}

}  // namespace cm::rollback
