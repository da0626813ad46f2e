// Private pieces of PersistStore shared by its implementation files (persist_store.cpp: opening,
// catalog, records; persist_store_query.cpp: nearest neighbours). Not for use elsewhere.
#pragma once

#include <optional>

#include "common/persist/persist_store.hpp"
#include "common/persist/queue_overlay.hpp"
#include "common/persist/record_view.hpp"
#include "common/persist/vector_view.hpp"

namespace cm {

// One collection, read on first use. Never moved once built: the views point into it.
struct PersistStore::State {
  const PersistCollection* collection = nullptr;
  QueueOverlay overlay;
  std::optional<RecordView> records;
  std::optional<VectorView> vectors;
};

}  // namespace cm
