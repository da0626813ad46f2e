#include "migrate/inspect.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/report/html_page.hpp"
#include "migrate/summary_page.hpp"

namespace cm::migrate {

std::uint64_t PersistInspection::unrecoverable() const {
  std::uint64_t n = 0;
  for (const auto& c : collections) n += c.unrecoverable;
  return n;
}

Result<std::vector<PersistCollectionHealth>> collections_health(
    PersistStore& persist, const std::vector<std::string>& names) {
  std::vector<PersistCollectionHealth> out;
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto info, persist.find_collection(name));
    if (!info) continue;
    CM_ASSIGN_OR_RETURN(auto health, persist.health(*info));
    out.push_back(std::move(health));
  }
  return out;
}

Result<PersistInspection> inspect_persist(PersistStore& persist, const std::string& source) {
  PersistInspection out;
  out.source = source;
  CM_ASSIGN_OR_RETURN(out.orphan_segment_folders, persist.orphan_segment_folders());
  CM_ASSIGN_OR_RETURN(const auto databases, persist.databases());
  for (const auto& d : databases) {
    CM_ASSIGN_OR_RETURN(auto store, persist.open_database(d.tenant, d.database));
    CM_ASSIGN_OR_RETURN(const auto collections, store->list_collections());
    std::vector<std::string> names;
    for (const auto& c : collections) names.push_back(c.name);
    CM_ASSIGN_OR_RETURN(auto health, collections_health(*store, names));
    for (auto& h : health) out.collections.push_back(std::move(h));
  }
  return out;
}

nlohmann::json inspection_to_json(const PersistInspection& inspection) {
  nlohmann::json collections = nlohmann::json::array();
  std::uint64_t records = 0;
  for (const auto& c : inspection.collections) {
    collections.push_back(health_to_json(c));
    records += c.records;
  }
  return {{"source", inspection.source},
          {"inspected_at", now_iso8601()},
          {"every_vector_recoverable", inspection.unrecoverable() == 0},
          {"records", records},
          {"unrecoverable", inspection.unrecoverable()},
          {"orphan_segment_folders", inspection.orphan_segment_folders},
          {"collections", collections}};
}

std::string render_health_table(const std::vector<PersistCollectionHealth>& collections) {
  std::size_t width = 26;
  for (const auto& c : collections) {
    width = std::max(width, c.tenant.size() + c.database.size() + c.name.size() + 2);
  }
  std::string out =
      fmt::format("{:<{}} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>7} {:>9} {:>7}  {}\n",
                  "tenant/database/collection", width, "records", "sqlite", "segment", "q-vector",
                  "q-only", "deleted", "orphan", "pending", "recovered", "lost", "vectors");
  for (const auto& c : collections) {
    out += fmt::format(
        "{:<{}} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>7} {:>9} {:>7}  {}\n",
        c.tenant + "/" + c.database + "/" + c.name, width, c.records, c.records_in_sqlite,
        c.segment_vectors, c.vectors_in_queue, c.queue_only_records, c.deleted_labels,
        c.orphan_labels, c.queue_rows_past_watermark, c.vectors_recovered_from_queue,
        c.unrecoverable,
        c.recoverable() ? (c.damage.empty() ? "ok" : "ok (damage recovered)") : "UNRECOVERABLE");
  }
  out +=
      "(segment: vectors in the HNSW segment; q-vector: current vectors only the queue holds; "
      "q-only: records only the queue holds; pending: queue rows past the purge watermark; lost: "
      "no vector anywhere)\n";
  for (const auto& c : collections) {
    for (const auto& d : c.damage) out += fmt::format("  {}: {}\n", c.name, d);
    if (!c.recoverable()) {
      std::string sample;
      for (const auto& id : c.unrecoverable_sample) sample += (sample.empty() ? "" : ", ") + id;
      out += fmt::format("  {}: {} record(s) without a vector anywhere, e.g. {}\n", c.name,
                         c.unrecoverable, sample);
    }
  }
  return out;
}

Result<PersistInspection> run_inspect(const StoreUri& source, std::filesystem::path report) {
  if (source.kind != StoreUri::Kind::kPersist) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--inspect reads a Chroma persist directory: give --source persist:DIR, not " +
            source.redacted());
  }
  if (report.empty()) report = kDefaultInspectReport;
  report = std::filesystem::absolute(report);
  // No work directory: the copy of chroma.sqlite3 goes to the system temp directory.
  PersistStoreOptions options;
  options.tenant = "";  // the directory alone: every database is opened from it
  CM_ASSIGN_OR_RETURN(auto persist, PersistStore::open(source.persist_dir, options));
  StoreUri label = source;
  label.tenant = "default_tenant";  // the directory, not one database
  label.database = "default_database";
  CM_ASSIGN_OR_RETURN(auto inspection, inspect_persist(*persist, label.redacted()));
  const auto json = inspection_to_json(inspection);
  // The page first, the JSON (the record) last; a page that fails is only a warning naming it.
  report::write_page_beside(report, render_inspect_page(json, report.filename().string()));
  CM_RETURN_IF_ERROR(write_file_atomic(report, json.dump(2) + "\n"));
  return inspection;
}

}  // namespace cm::migrate
