// What a sync may write into a target collection. Applications may write to the run's target
// collections too (after a cutover they are live; an in-place run writes to live names from the
// start), and a sync must never replace or delete what they wrote. So before it writes, a sync
// reads the target's current version of every record it would touch and compares it (by content,
// common/store/same_content.hpp) with what the run wrote there last, as the run's snapshots say:
//   - the target holds what the sync would write (a sync killed after its target writes, before
//     its snapshot update): nothing to write, the change counts as applied;
//   - the target holds what the run wrote last (or nothing, where the run wrote nothing): write;
//   - anything else is a conflict: someone else changed that record. The sync leaves it as it is,
//     keeps the source change out of the snapshots (the next sync finds it again) and reports it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm::migrate {

// One change a sync intends to make to one target record, on behalf of one source change.
struct TargetIntent {
  std::string id;
  std::optional<Record> before;   // what the run wrote there last (nullopt: nothing)
  std::optional<Record> after;    // what it should hold now (nullopt: deleted)
  std::size_t source_change = 0;  // which source change of the batch it serves
};

enum class IntentVerdict { kWrite, kAlreadyDone, kConflict };

// Reads the target's current records for the intents' ids (`batch` ids per read) and judges each
// intent as above, in `collection`'s space. One verdict per intent, in order.
Result<std::vector<IntentVerdict>> screen_intents(VectorStore& target,
                                                  const CollectionInfo& collection,
                                                  std::span<const TargetIntent> intents,
                                                  std::size_t batch);

}  // namespace cm::migrate
