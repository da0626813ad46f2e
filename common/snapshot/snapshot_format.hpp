// The binary part file of a snapshot (docs/snapshot-format.md). A part holds one upsert batch of a
// collection; all integers are little-endian.
//
//   header : "CMSNAP01" | u32 format_version (2; 1 is still read) | u32 record_count | u64
//   write_seq record : u32 id_len, id | u8 record flags (format 2 only: bit0 uri present, bit1
//   tombstone,
//            bit2 unrecoverable) | u8 doc_flag (0 null, 1 present), u32 doc_len, doc (len 0 when
//            null) | u32 meta_len, canonical metadata JSON | u32 dimension, dimension x float32
//            | format 2 only: u32 uri_len, uri (len 0 when null) | u32 note_len, note (the
//            unrecoverable reason; len 0 otherwise) | u64 digest (part_record_digest below)
//
// Decoding is strict: anything but an exact, self-consistent encoding is kCorruption with a message
// naming the record index and byte offset. Each record's digest is recomputed, so a flipped bit in
// any field is detected even without the manifest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm {

inline constexpr std::string_view kPartMagic = "CMSNAP01";
inline constexpr std::uint32_t kPartFormatVersion = 2;    // what encode_part writes
inline constexpr std::uint32_t kPartFormatVersionV1 = 1;  // read only: no uris, no marks
inline constexpr std::size_t kPartHeaderSize = 24;

struct PartHeader {
  std::uint32_t format_version = kPartFormatVersion;
  std::uint32_t record_count = 0;
  std::uint64_t write_seq = 0;  // orders parts of one collection: the higher one wins an id clash
};

// A record that is not simply live content (format 2; nothing in this version writes them yet:
// they are reserved for delta generations and for sources that cannot read a record):
//  - kTombstone: the record was deleted at the source since the base generation; only the id is
//    stored (null document, empty metadata, dimension 0, no uri).
//  - kUnrecoverable: the source holds the id but its content could not be read in full; `note`
//    says why, and the fields hold whatever could be read.
struct RecordMark {
  enum class Kind { kLive, kTombstone, kUnrecoverable };
  Kind kind = Kind::kLive;
  std::string note;
  bool operator==(const RecordMark&) const = default;
};

// The stored per-record digest: record_digest() for a live record (so a format-2 record without a
// uri has the digest format 1 gave it); for a marked record XXH3-64 over u64 record_digest | u8
// flag (2 tombstone, 4 unrecoverable) | u64 note length | note bytes.
std::uint64_t part_record_digest(const Record& record, std::string_view canonical_metadata,
                                 const RecordMark& mark);

struct DecodedPart {
  PartHeader header;
  std::vector<Record> records;
  std::vector<std::uint64_t> digests;  // digests[i] is records[i]'s verified stored digest
  // (record index, mark) of the records that are not live, in record order; empty in practice.
  std::vector<std::pair<std::uint32_t, RecordMark>> marks;
};

// Precondition (checked by the caller, SnapshotStore::upsert): every variable-length field is
// below 4 GiB, the batch has fewer than 2^32 records and metadata passes
// metadata_not_representable_reason(); otherwise the encoding would not decode to the same records.
// Always writes the current format (2). `marks` (optional, parallel to `records`) marks records
// as tombstones or unrecoverable; a tombstone's record must hold only its id.
std::string encode_part(std::span<const Record> records, std::uint64_t write_seq);
std::string encode_part(std::span<const Record> records, std::span<const RecordMark> marks,
                        std::uint64_t write_seq);

// Removes the records `drop` selects, keeping digests and marks aligned, and re-encodes what is
// left with the part's write_seq and marks (sealing and delete_records rewrite parts this way).
std::string reencode_part_without(DecodedPart& part,
                                  const std::function<bool(const Record&)>& drop);

// Full decode: structure, metadata JSON (back into typed Metadata: 3 stays int, 1.0 stays float),
// canonical form of the metadata, and every record digest.
Result<DecodedPart> decode_part(std::string_view bytes);

// Reads only the first kPartHeaderSize bytes (magic and version checked).
Result<PartHeader> decode_part_header(std::string_view bytes);

// Ids only, in record order, for scans that need no content (paging, dedupe). Checks the structure
// (lengths, counts, trailing bytes) but neither metadata nor digests.
Result<std::vector<std::string>> decode_part_ids(std::string_view bytes);

// Ids and embeddings only (documents null, metadata empty), for nearest-neighbour search over a
// snapshot. Checks the structure but neither metadata nor digests, which makes it ~20x faster
// than decode_part: callers check the whole file against the manifest's XXH3-64 first
// (SnapshotStore::read_part_vectors).
Result<std::vector<Record>> decode_part_vectors(std::string_view bytes);

// Ids and the stored per-record digests, for sealing: the structure is checked, the digests are
// NOT recomputed (verify_snapshot and every read_part do that), which makes sealing a framing walk.
struct PartIndex {
  PartHeader header;
  std::vector<std::string> ids;
  std::vector<std::uint64_t> digests;
  std::uint64_t tombstones = 0, unrecoverable = 0;  // records so marked (format 2)
};
Result<PartIndex> decode_part_index(std::string_view bytes);

}  // namespace cm
