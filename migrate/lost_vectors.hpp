// Persist-directory sources (docs/persist-source.md): the records whose vector was lost before the
// run (a damaged HNSW segment, and no queue row that still holds it). A run refuses them unless
// --allow-missing-vectors (or --dry-run, which only reports); allowed, they are left out of the
// export (the source store skips them), listed in the work dir's unrecoverable_at_source.json and
// counted in run.json and the migration summary as "unrecoverable at the source", never as data
// the migration lost (chroma-validate compares the target with the export, which never held them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/persist/persist_store.hpp"
#include "common/run/work_dir.hpp"

namespace cm::migrate {

struct LostVectors {
  std::map<std::string, std::vector<std::string>> ids;  // source collection -> ids
  std::uint64_t total() const;
};

// The lost vectors of the source collections `names`; none when `persist` is null (the source is
// not a persist directory).
Result<LostVectors> find_lost_vectors(PersistStore* persist, const std::vector<std::string>& names);

// The refusal (kCorruption, exit 7): counts per collection, sample ids, and the two ways on.
// `resumed`: the run wrote before this invocation (the message says nothing *more* was written).
std::unexpected<Error> refuse_lost_vectors(const LostVectors& lost, const std::string& source,
                                           bool resumed);

// Writes unrecoverable_at_source.json (every id) and returns run.json's unrecoverable_at_source
// entry (counts and samples); an empty object and no file when nothing is lost.
Result<nlohmann::json> record_lost_vectors(const LostVectors& lost, const WorkDir& work);

// One line for the console: "N records (a: n, e.g. x, y; ...); every id in FILE".
std::string describe_lost_vectors(const nlohmann::json& recorded, const WorkDir& work);

}  // namespace cm::migrate
