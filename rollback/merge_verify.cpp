// Checking a merge rollback and finding what others wrote: the read-only halves of
// rollback/merge_restore.hpp (its header states what each function proves).
#include <algorithm>
#include <string_view>

#include "common/store/same_content.hpp"
#include "rollback/merge_restore.hpp"
#include "rollback/records_by_id.hpp"

namespace cm::rollback {

Result<CollectionCheck> verify_merged(const MergeItem& item, VectorStore& target,
                                      SnapshotStore* backup, SnapshotStore* import,
                                      std::size_t max_batch) {
  CollectionCheck c;
  c.name = item.name;
  c.expect = "backup + kept records";
  auto problem = [&](std::string_view p) {
    c.ok = false;
    if (c.problems.size() < 10) c.problems.emplace_back(p);
  };
  if (!backup || !import) {
    problem("the backup or the import snapshot cannot be read");
    return c;
  }
  CM_ASSIGN_OR_RETURN(auto backup_info, backup->find_collection(item.name));
  CM_ASSIGN_OR_RETURN(auto import_info, import->find_collection(item.name));
  CM_ASSIGN_OR_RETURN(auto live, target.find_collection(item.name));
  if (!backup_info || !import_info) {
    problem("the backup or the import snapshot does not hold it");
    return c;
  }
  c.expected_records = item.backup_records;
  if (!live) {
    problem("missing from the target");
    return c;
  }
  CM_ASSIGN_OR_RETURN(c.actual_records, target.count(*live));
  if (!item.collection_id.empty() && live->id != item.collection_id) {
    problem("is collection " + live->id + ", not the merged collection " + item.collection_id +
            " (the collection must be kept)");
  }
  if (!(live->hnsw == backup_info->hnsw)) problem("hnsw configuration differs from the backup");
  if (live->metadata != backup_info->metadata) {
    problem("collection metadata " + metadata_to_json(live->metadata).dump() + " (backup " +
            metadata_to_json(backup_info->metadata).dump() + ")");
  }
  const std::string& space = backup_info->hnsw.space;
  const std::size_t batch = std::max<std::size_t>(1, max_batch);
  CM_ASSIGN_OR_RETURN(std::size_t parts, import->part_count(item.name));
  for (std::size_t part = 0; part < parts; ++part) {
    CM_ASSIGN_OR_RETURN(auto records, import->read_part(item.name, part));
    for (std::size_t at = 0; at < records.size(); at += batch) {
      std::vector<std::string> ids;
      for (std::size_t i = at; i < std::min(records.size(), at + batch); ++i)
        ids.push_back(records[i].id);
      CM_ASSIGN_OR_RETURN(ById before, fetch_by_id(*backup, *backup_info, ids));
      CM_ASSIGN_OR_RETURN(ById now, fetch_by_id(target, *live, ids));
      for (std::size_t i = at; i < std::min(records.size(), at + batch); ++i) {
        const auto& r = records[i];
        ++c.records_compared;
        switch (classify_merged_record(space, lookup(before, r.id), &r, lookup(now, r.id))) {
          case MergeVerdict::kRestore:
            ++c.mismatches;
            problem("record " + r.id + ": not the backed-up version");
            break;
          case MergeVerdict::kDeleteAdded:
            ++c.mismatches;
            problem("record " + r.id + ": added by the run, still there");
            break;
          default:
            break;
        }
      }
    }
  }
  return c;
}

Result<IdList> records_others_wrote(SnapshotStore& archive, const std::string& name,
                                    SnapshotStore& import, const std::string& live_name,
                                    std::size_t max_batch) {
  IdList out;
  CM_ASSIGN_OR_RETURN(auto archived_info, archive.find_collection(name));
  CM_ASSIGN_OR_RETURN(auto import_info, import.find_collection(live_name));
  if (!archived_info) return out;
  const std::string& space = archived_info->hnsw.space;
  const std::size_t batch = std::max<std::size_t>(1, max_batch);
  CM_ASSIGN_OR_RETURN(std::size_t parts, archive.part_count(name));
  for (std::size_t part = 0; part < parts; ++part) {
    CM_ASSIGN_OR_RETURN(auto records, archive.read_part(name, part));
    for (std::size_t at = 0; at < records.size(); at += batch) {
      ById written;
      if (import_info) {
        std::vector<std::string> ids;
        for (std::size_t i = at; i < std::min(records.size(), at + batch); ++i)
          ids.push_back(records[i].id);
        CM_RETURN_IF_ERROR(fetch_by_id_into(import, *import_info, ids, written));
      }
      for (std::size_t i = at; i < std::min(records.size(), at + batch); ++i) {
        const Record* w = lookup(written, records[i].id);
        if (!w || !same_content(space, *w, records[i])) out.add(records[i].id);
      }
    }
  }
  return out;
}

}  // namespace cm::rollback
