// chroma-migrate --inspect --source persist:DIR: the health of every collection of every tenant
// and database of a Chroma persist directory (PersistStore::health, docs/persist-source.md),
// without a work directory: a table for the console and a JSON report. Reads only; the private
// copy of chroma.sqlite3 goes to the system temp directory and is removed afterwards.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/persist/persist_store.hpp"
#include "common/store/uri.hpp"

namespace cm::migrate {

inline constexpr const char* kDefaultInspectReport = "persist_inspect.json";

struct PersistInspection {
  std::string source;  // persist:DIR
  std::vector<PersistCollectionHealth> collections;
  std::vector<std::string> orphan_segment_folders;
  std::uint64_t unrecoverable() const;
};

// Every tenant, database and collection of the directory `persist` was opened on (any database).
Result<PersistInspection> inspect_persist(PersistStore& persist, const std::string& source);
// The health of the named collections of `persist`'s own database (the --dry-run plan's figures).
Result<std::vector<PersistCollectionHealth>> collections_health(
    PersistStore& persist, const std::vector<std::string>& names);

nlohmann::json inspection_to_json(const PersistInspection& inspection);
// A fixed-width table, one line per collection, and the damage lines under it.
std::string render_health_table(const std::vector<PersistCollectionHealth>& collections);

// The whole of --inspect: opens `source` (kInvalidArgument unless persist:), inspects it, writes
// the JSON to `report` (default ./persist_inspect.json), the HTML page beside it
// (migrate/summary_page.hpp) and returns the inspection.
Result<PersistInspection> run_inspect(const StoreUri& source, std::filesystem::path report);

}  // namespace cm::migrate
