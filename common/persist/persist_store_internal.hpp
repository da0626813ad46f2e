// Private pieces of PersistStore shared by its implementation files (persist_store.cpp: opening,
// catalog, records; persist_store_query.cpp: nearest neighbours). Not for use elsewhere.
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/persist/persist_store.hpp"
#include "common/persist/queue_overlay.hpp"
#include "common/persist/record_view.hpp"
#include "common/persist/vector_view.hpp"

namespace cm {

// One collection, read on first use. Never moved once built: the views point into it.
struct PersistStore::State {
  const PersistCollection* collection = nullptr;
  std::optional<std::int64_t> metadata_position;  // the segments' max_seq_id (nullopt: no row)
  std::optional<std::int64_t> vector_position;
  QueueOverlay overlay;
  std::optional<RecordView> records;
  std::optional<VectorView> vectors;
  // Live ids whose vector is nowhere, in list_ids order; with skip_unrecoverable also `hidden`,
  // which `records` leaves out.
  std::vector<std::string> unrecoverable;
  std::unordered_set<std::string> hidden;
};

}  // namespace cm
