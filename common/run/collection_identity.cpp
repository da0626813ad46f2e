#include "common/run/collection_identity.hpp"

#include <spdlog/spdlog.h>

#include "common/run/collection_rename.hpp"
#include "common/store/canonical.hpp"

namespace cm {

Result<CollectionContent> read_collection_content(VectorStore& store,
                                                  const CollectionInfo& collection,
                                                  std::size_t batch_size) {
  const auto page = static_cast<std::uint32_t>(std::max<std::size_t>(batch_size, 1));
  std::vector<std::uint64_t> digests;
  for (std::uint64_t offset = 0;; offset += page) {
    CM_ASSIGN_OR_RETURN(auto ids, store.list_ids(collection, offset, page));
    if (!ids.empty()) {
      CM_ASSIGN_OR_RETURN(auto records, store.get_records(collection, ids));
      for (const auto& r : records) digests.push_back(record_digest(r));
    }
    if (ids.size() < page) break;
  }
  CM_ASSIGN_OR_RETURN(std::uint64_t n, store.count(collection));
  CollectionContent out;
  out.count = n;
  out.digest = content_digest(std::move(digests));
  return out;
}

std::string quarantine_name_for(const std::string& name, const std::string& run_id) {
  return name + ".quarantine-" + run_id;
}

std::string describe_content_difference(const CollectionContent& live,
                                        const CollectionContent& expected) {
  std::string out;
  if (live.count != expected.count) {
    out = "it holds " + std::to_string(live.count) + " records, the backup " +
          std::to_string(expected.count);
  }
  if (live.digest != expected.digest) {
    if (!out.empty()) out += "; ";
    out += "its content digest is " + live.digest + ", the backup's " + expected.digest +
           " (records were written, changed or deleted after the backup)";
  }
  return out.empty() ? "nothing" : out;
}

namespace {

// Puts a collection that failed its check back under its name, so a refusal deletes nothing and
// strands nothing under the quarantine name.
void rename_back(VectorStore& store, const PinnedDelete& pin) {
  auto back = rename_collection_idempotent(store, pin.collection_id, pin.quarantine, pin.name);
  if (!back) {
    spdlog::warn("collection {} stays under '{}': renaming it back to '{}' failed: {}",
                 pin.collection_id, pin.quarantine, pin.name, back.error().message);
  }
}

}  // namespace

Status delete_collection_pinned(VectorStore& store, const PinnedDelete& pin) {
  CM_ASSIGN_OR_RETURN(auto at_quarantine, store.find_collection(pin.quarantine));
  CM_ASSIGN_OR_RETURN(auto at_name, store.find_collection(pin.name));
  const bool at_name_is_ours = at_name && at_name->id == pin.collection_id;
  if (!at_quarantine && !at_name_is_ours) {
    if (at_name) {
      return make_error(ErrorCode::kAlreadyExists,
                        "collection '" + pin.name + "' is not the one this run backed up (id " +
                            at_name->id + ", expected " + pin.collection_id +
                            "): someone created it after the run's collection was removed; it "
                            "is left as it is and nothing was deleted");
    }
    return ok_status();  // deleted before a crash
  }
  if (at_quarantine && at_quarantine->id != pin.collection_id) {
    return make_error(ErrorCode::kAlreadyExists, "'" + pin.quarantine + "' holds collection " +
                                                     at_quarantine->id + ", not the run's " +
                                                     pin.collection_id + "; nothing was deleted");
  }
  if (pin.expected && at_name_is_ours) {
    // Checked under the live name first: a refusal here leaves the name serving as before.
    CM_ASSIGN_OR_RETURN(auto content, read_collection_content(store, *at_name, pin.batch_size));
    if (content != *pin.expected) {
      return make_error(ErrorCode::kAlreadyExists,
                        "collection '" + pin.name + "' (id " + pin.collection_id +
                            ") no longer holds what the run backed up: " +
                            describe_content_difference(content, *pin.expected) +
                            ". Nothing was deleted; back it up again with a new run (or remove "
                            "the writes) and start over");
    }
  }
  if (!at_quarantine) {
    CM_RETURN_IF_ERROR(
        rename_collection_idempotent(store, pin.collection_id, pin.name, pin.quarantine));
    CM_ASSIGN_OR_RETURN(at_quarantine, store.find_collection(pin.quarantine));
  }
  if (!at_quarantine || at_quarantine->id != pin.collection_id) {
    return make_error(ErrorCode::kAlreadyExists, "collection " + pin.collection_id +
                                                     " is not under '" + pin.quarantine +
                                                     "' after the rename; nothing was deleted");
  }
  if (pin.expected) {
    // Again under the quarantine name: clients holding the id may have written meanwhile.
    CM_ASSIGN_OR_RETURN(auto content,
                        read_collection_content(store, *at_quarantine, pin.batch_size));
    if (content != *pin.expected) {
      rename_back(store, pin);
      return make_error(ErrorCode::kAlreadyExists,
                        "collection '" + pin.name + "' (id " + pin.collection_id +
                            ") was written after the backup: " +
                            describe_content_difference(content, *pin.expected) +
                            ". Nothing was deleted");
    }
  }
  CM_RETURN_IF_ERROR(store.delete_collection(pin.quarantine));
  spdlog::info("deleted collection {} (was '{}', checked under '{}')", pin.collection_id, pin.name,
               pin.quarantine);
  return ok_status();
}

}  // namespace cm
