// describe_plan(): the plan as --dry-run prints it. Reads only (find_collection, count).
#include <fmt/format.h>

#include "common/run/work_dir.hpp"
#include "rollback/plan.hpp"

namespace cm::rollback {
namespace {

const char* done_mark(bool done) {
  return done ? "  [done]" : "";
}

// The records of an archive item now: it is under its planned name, or (path A, before the
// renames are undone) still under the live name.
Result<std::optional<CollectionInfo>> collection_now(VectorStore& target, const ArchiveItem& item);

Result<std::string> records_now(VectorStore& target, const ArchiveItem& item) {
  CM_ASSIGN_OR_RETURN(auto found, collection_now(target, item));
  if (!found) return std::string(item.state == ArchiveState::kDropped ? "dropped" : "not found");
  CM_ASSIGN_OR_RETURN(std::uint64_t n, target.count(*found));
  return fmt::format("{} records now{}", n,
                     found->name == item.name ? "" : " (under " + found->name + ")");
}

// The archive item's collection now (under its planned name, or still under the live name).
Result<std::optional<CollectionInfo>> collection_now(VectorStore& target, const ArchiveItem& item) {
  for (const auto* name : {&item.name, &item.live_name}) {
    CM_ASSIGN_OR_RETURN(auto found, target.find_collection(*name));
    if (found && (item.collection_id.empty() || found->id == item.collection_id)) return found;
  }
  return std::optional<CollectionInfo>{};
}

}  // namespace

Result<std::string> describe_writes_after_run(const Journal& j, VectorStore& target,
                                              const RunManifest& m) {
  std::string out;
  for (const auto& a : j.archive) {
    if (a.state != ArchiveState::kPending) continue;
    const auto* entry = m.find_target(a.live_name);
    if (!entry) continue;
    CM_ASSIGN_OR_RETURN(auto found, collection_now(target, a));
    if (!found) continue;
    CM_ASSIGN_OR_RETURN(std::uint64_t now, target.count(*found));
    if (now == entry->expected_records) continue;
    out += fmt::format(
        "'{}' holds {} records, the run wrote {}: it was written after the run (e.g. by "
        "applications after the cutover). Those writes are archived into {} with the rest and "
        "listed by id in the rollback report, not restored to the target\n",
        found->name, now, entry->expected_records,
        WorkDir::snapshot_relative(WorkDir::kArchiveSnapshot));
  }
  return out;
}

Result<std::string> describe_plan(const Journal& j, VectorStore& target,
                                  const SnapshotManifest* backup) {
  std::string out;
  std::string paths;
  for (const auto& p : j.paths) paths += (paths.empty() ? "" : ", ") + std::string(enum_name(p));
  out += fmt::format("rollback plan for run {}: path(s) {}\n", j.run_id,
                     paths.empty() ? "none (nothing of the run is on the target)" : paths);
  int step = 1;
  if (!j.backup_path.empty() && backup) {
    std::uint64_t records = 0;
    for (const auto& c : backup->collections) records += c.record_count;
    out +=
        fmt::format("{}. verify the backup {} ({} collection(s), {} records) before any change\n",
                    step++, j.backup_path, backup->collections.size(), records);
  }
  if (!j.renames.empty()) {
    out += fmt::format("{}. undo the cutover, in reverse order (renames only, no data copied):\n",
                       step++);
    for (const auto& r : j.renames) {
      out +=
          fmt::format("   - rename '{}' -> '{}' (collection {}){}{}{}\n", r.from, r.to,
                      r.collection_id, r.restores_live ? "; gives back live name " : "",
                      r.restores_live ? r.live_name : "", done_mark(r.state == RenameState::kDone));
    }
  }
  if (!j.archive.empty()) {
    out += fmt::format("{}. archive into {} (sealed and verified), then drop:\n", step++,
                       WorkDir::snapshot_relative(WorkDir::kArchiveSnapshot));
    for (const auto& a : j.archive) {
      CM_ASSIGN_OR_RETURN(std::string now, records_now(target, a));
      out += fmt::format("   - archive and drop '{}' (collection {}, {}){}\n", a.name,
                         a.collection_id, now, done_mark(a.state == ArchiveState::kDropped));
    }
  }
  if (!j.restores.empty()) {
    out += fmt::format("{}. restore from the backup {} (same name, metadata, hnsw config):\n",
                       step++, j.backup_path);
    for (const auto& r : j.restores) {
      const auto* bc = backup ? backup->find(r.name) : nullptr;
      out += fmt::format("   - recreate '{}' and upsert {} records from {} part(s){}{}\n", r.name,
                         r.records, r.parts, bc ? " (space " + bc->info.hnsw.space + ")" : "",
                         done_mark(r.state == RestoreState::kRestored));
    }
  }
  if (!j.merges.empty()) {
    out += fmt::format(
        "{}. restore merged collections in place, by record (the collection and its id are "
        "kept): delete the records the run added, put back the backed-up version of those it "
        "overwrote; records others wrote since are kept and listed:\n",
        step++);
    for (const auto& m : j.merges) {
      CM_ASSIGN_OR_RETURN(auto found, target.find_collection(m.name));
      std::string now = "not found";
      if (found) {
        CM_ASSIGN_OR_RETURN(std::uint64_t n, target.count(*found));
        now = fmt::format("{} records now", n);
      }
      out += fmt::format("   - '{}' (collection {}, {}; {} records in the backup){}\n", m.name,
                         m.collection_id, now, m.backup_records,
                         done_mark(m.state == MergeRestoreState::kRestored));
    }
  }
  out += fmt::format("{}. verify:\n", step++);
  for (const auto& n : j.untouched)
    out += fmt::format("   - '{}' is still the pre-run collection (the backup's id)\n", n);
  for (const auto& n : j.equal_to_backup)
    out += fmt::format("   - '{}' equals the backup record by record\n", n);
  for (const auto& m : j.merges)
    out += fmt::format(
        "   - '{}' is the same collection and holds the backup's records plus the kept ones\n",
        m.name);
  for (const auto& n : j.must_be_gone) out += fmt::format("   - '{}' is gone\n", n);
  out += "   - the source still matches the export snapshot (when reachable)\n";
  out += fmt::format("{}. mark run.json rolled_back_at; write rollback_report.json/.md\n", step++);
  out += "live names:\n";
  for (const auto& l : j.live) {
    out += fmt::format("   - {} ({}): {} - {}\n", l.name, enum_name(l.action), enum_name(l.path),
                       l.note);
  }
  return out;
}

}  // namespace cm::rollback
