#include "rollback/records_by_id.hpp"

namespace cm::rollback {

ById by_id(std::vector<Record> records) {
  ById out;
  for (auto& r : records) {
    std::string id = r.id;
    out.emplace(std::move(id), std::move(r));
  }
  return out;
}

const Record* lookup(const ById& m, const std::string& id) {
  auto it = m.find(id);
  return it == m.end() ? nullptr : &it->second;
}

Result<ById> fetch_by_id(VectorStore& store, const CollectionInfo& c,
                         std::span<const std::string> ids) {
  CM_ASSIGN_OR_RETURN(auto records, store.get_records(c, ids));
  return by_id(std::move(records));
}

Status fetch_by_id_into(VectorStore& store, const CollectionInfo& c,
                        std::span<const std::string> ids, ById& out) {
  CM_ASSIGN_OR_RETURN(auto records, store.get_records(c, ids));
  out = by_id(std::move(records));
  return ok_status();
}

}  // namespace cm::rollback
