#include "common/persist/persist_health.hpp"

namespace cm {

nlohmann::json health_to_json(const PersistCollectionHealth& h) {
  return {{"tenant", h.tenant},
          {"database", h.database},
          {"collection", h.name},
          {"id", h.id},
          {"space", h.space},
          {"vector_segment", h.vector_segment},
          {"records", h.records},
          {"records_in_sqlite", h.records_in_sqlite},
          {"queue_only_records", h.queue_only_records},
          {"vectors_in_queue", h.vectors_in_queue},
          {"segment_elements", h.segment_elements},
          {"segment_vectors", h.segment_vectors},
          {"deleted_labels", h.deleted_labels},
          {"orphan_labels", h.orphan_labels},
          {"fragmentation", h.fragmentation},
          {"queue_rows", h.queue_rows},
          {"queue_rows_past_watermark", h.queue_rows_past_watermark},
          {"purge_watermark",
           h.purge_watermark ? nlohmann::json(*h.purge_watermark) : nlohmann::json()},
          {"vectors_recovered_from_queue", h.vectors_recovered_from_queue},
          {"damage", h.damage},
          {"unrecoverable", h.unrecoverable},
          {"unrecoverable_sample", h.unrecoverable_sample},
          {"every_vector_recoverable", h.recoverable()}};
}

}  // namespace cm
