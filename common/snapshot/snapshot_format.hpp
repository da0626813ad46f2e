// The binary part file of a snapshot (docs/snapshot-format.md). A part holds one upsert batch of a
// collection; all integers are little-endian.
//
//   header : "CMSNAP01" | u32 format_version (1) | u32 record_count | u64 write_seq
//   record : u32 id_len, id | u8 doc_flag (0 null, 1 present), u32 doc_len, doc (len 0 when null)
//            | u32 meta_len, canonical metadata JSON | u32 dimension, dimension x float32
//            | u64 record_digest (common/store/canonical.hpp)
//
// Decoding is strict: anything but an exact, self-consistent encoding is kCorruption with a message
// naming the record index and byte offset. Each record's digest is recomputed, so a flipped bit in
// any field is detected even without the manifest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm {

inline constexpr std::string_view kPartMagic = "CMSNAP01";
inline constexpr std::uint32_t kPartFormatVersion = 1;
inline constexpr std::size_t kPartHeaderSize = 24;

struct PartHeader {
  std::uint32_t format_version = kPartFormatVersion;
  std::uint32_t record_count = 0;
  std::uint64_t write_seq = 0;  // orders parts of one collection: the higher one wins an id clash
};

struct DecodedPart {
  PartHeader header;
  std::vector<Record> records;
  std::vector<std::uint64_t> digests;  // digests[i] is records[i]'s verified record_digest
};

// Precondition (checked by the caller, SnapshotStore::upsert): every variable-length field is
// below 4 GiB, the batch has fewer than 2^32 records and metadata passes
// metadata_not_representable_reason(); otherwise the encoding would not decode to the same records.
std::string encode_part(std::span<const Record> records, std::uint64_t write_seq);

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
};
Result<PartIndex> decode_part_index(std::string_view bytes);

}  // namespace cm
