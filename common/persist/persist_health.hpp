// The health of a collection in a Chroma persist directory, as PersistStore::health() measures it
// and `chroma-migrate --inspect` / `--dry-run` report it (docs/persist-source.md): where its
// records and vectors are, what is damaged, and which records' vectors cannot be recovered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cm {

struct PersistCollectionHealth {
  static constexpr std::size_t kSampleIds = 10;

  std::string tenant, database, name, id, space;
  std::string vector_segment;  // its folder's name
  // Records: live after replaying the queue (unrecoverable ones included); rows of the SQLite
  // metadata segment; live records only the queue holds.
  std::uint64_t records = 0;
  std::uint64_t records_in_sqlite = 0;
  std::uint64_t queue_only_records = 0;
  // Live records whose current vector is in a queue row past the segment (not yet persisted).
  std::uint64_t vectors_in_queue = 0;
  // The HNSW segment: header.bin's element count, elements marked deleted, usable live elements
  // mapped to an id (vectors in the segment), usable live elements no id maps (orphan labels).
  std::uint64_t segment_elements = 0;
  std::uint64_t deleted_labels = 0;
  std::uint64_t segment_vectors = 0;
  std::uint64_t orphan_labels = 0;
  // deleted_labels / segment_elements: space the index still spends on deleted elements.
  double fragmentation = 0;
  // embeddings_queue: the collection's rows, and those past the purge watermark (the lower of the
  // two segments' max_seq_id: rows not yet in both segments; nullopt: a segment has no position).
  std::uint64_t queue_rows = 0;
  std::uint64_t queue_rows_past_watermark = 0;
  std::optional<std::int64_t> purge_watermark;
  // Vectors the segment lost that surviving queue rows still hold.
  std::uint64_t vectors_recovered_from_queue = 0;
  // What is wrong with the segment's files, one line each naming the file.
  std::vector<std::string> damage;
  // Live records whose vector is nowhere: how many, and the first kSampleIds of them.
  std::uint64_t unrecoverable = 0;
  std::vector<std::string> unrecoverable_sample;

  // Every record's vector can be read (damage may still have been found and recovered from).
  bool recoverable() const { return unrecoverable == 0; }
};

nlohmann::json health_to_json(const PersistCollectionHealth& health);

}  // namespace cm
