// Records fetched by id and looked up by id: how rolling back a merge compares, a batch at a
// time, the backup's, the import snapshot's and the target's version of each record.
#pragma once

#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/error.hpp"
#include "common/store/vector_store.hpp"

namespace cm::rollback {

using ById = std::unordered_map<std::string, Record>;

ById by_id(std::vector<Record> records);
// nullptr when `m` lacks the id.
const Record* lookup(const ById& m, const std::string& id);
// The records of `ids` that `store` holds, by id.
Result<ById> fetch_by_id(VectorStore& store, const CollectionInfo& c,
                         std::span<const std::string> ids);
// fetch_by_id() into an existing map (a Status: GCC 12 warns falsely on a Result<ById> assigned
// to one).
Status fetch_by_id_into(VectorStore& store, const CollectionInfo& c,
                        std::span<const std::string> ids, ById& out);

}  // namespace cm::rollback
