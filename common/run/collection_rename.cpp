#include "common/run/collection_rename.hpp"

namespace cm {
namespace {

bool same(const std::optional<CollectionInfo>& found, const std::string& id) {
  return found && (id.empty() || found->id.empty() || found->id == id);
}

}  // namespace

Result<RenameOutcome> rename_collection_idempotent(VectorStore& store,
                                                   const std::string& collection_id,
                                                   const std::string& from, const std::string& to) {
  CM_ASSIGN_OR_RETURN(auto at_to, store.find_collection(to));
  CM_ASSIGN_OR_RETURN(auto at_from, store.find_collection(from));
  if (same(at_to, collection_id) && !same(at_from, collection_id)) {
    return RenameOutcome::kAlreadyDone;
  }
  if (!same(at_from, collection_id)) {
    return make_error(ErrorCode::kVerifyFailed,
                      "collection " + collection_id + " is neither at '" + from + "' nor at '" +
                          to + "': the target was changed by someone else; nothing was renamed");
  }
  if (at_to) {
    return make_error(ErrorCode::kAlreadyExists, "cannot rename '" + from + "' to '" + to +
                                                     "': that name is taken by collection " +
                                                     at_to->id + "; nothing was renamed");
  }
  auto renamed = store.rename_collection(*at_from, to);
  if (!renamed) {
    // A retried request whose first attempt landed reports the name as taken: look again.
    CM_ASSIGN_OR_RETURN(auto now_at_to, store.find_collection(to));
    if (same(now_at_to, collection_id)) return RenameOutcome::kRenamed;
    return std::unexpected(std::move(renamed).error());
  }
  return RenameOutcome::kRenamed;
}

}  // namespace cm
