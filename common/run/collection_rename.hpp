// Renames that survive a crash: the caller journals (collection id, from, to) before calling, and a
// re-run calls again. Used by migrate's cutover (live -> retained, staged -> live) and by rollback
// (the same steps undone in reverse order).
#pragma once

#include <string>

#include "common/store/vector_store.hpp"

namespace cm {

enum class RenameOutcome { kRenamed, kAlreadyDone };

// Moves the collection whose server id is `collection_id` from `from` to `to`. Idempotent: when it
// is already under `to` (an earlier attempt landed before a crash) nothing is sent. Fails, naming
// both names, with kVerifyFailed when neither name holds that collection and with kAlreadyExists
// when `to` holds a different one: someone else changed the target, and guessing would risk live
// data. Stores
// without collection ids (snapshots) are matched by name alone.
Result<RenameOutcome> rename_collection_idempotent(VectorStore& store,
                                                   const std::string& collection_id,
                                                   const std::string& from, const std::string& to);

}  // namespace cm
