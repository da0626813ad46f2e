// Canonical encodings and digests of records. Every tool that compares data (snapshot verify, the
// validator, rollback checks) computes digests with these functions, so two copies of a record have
// equal digests exactly when their ids, embeddings (bit for bit), documents, typed metadata and
// uris are equal, whatever store they came from and whatever order their metadata keys arrived in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/store/record.hpp"

namespace cm {

// Metadata as compact JSON with keys in byte order (Metadata is a std::map): ints as integers,
// floats always with a '.' or an exponent (1.0 stays "1.0"), bools as true/false, strings as UTF-8
// (not \u-escaped). The empty map is "{}". Never fails: invalid UTF-8 is replaced by U+FFFD and a
// non-finite float becomes null, so callers that must round-trip exactly check
// metadata_not_representable_reason() first.
std::string canonical_metadata_json(const Metadata& metadata);

// Why this metadata cannot round-trip through canonical_metadata_json (invalid UTF-8 in a key or
// string value, a NaN or infinite float); nullopt when it can.
std::optional<std::string> metadata_not_representable_reason(const Metadata& metadata);

bool is_valid_utf8(std::string_view text);

// XXH3-64 over an unambiguous framing of the record: u64 length + id bytes, u64 length + raw
// little-endian float32 bytes of the embedding, u8 document flag (0 null, 1 present) + u64 length +
// document bytes (length 0 when null), u64 length + canonical metadata JSON, then, only when the
// record has a uri, u8 1 + u64 length + uri bytes (so records without a uri keep the digest they
// had before uris were kept). Lengths are little-endian.
std::uint64_t record_digest(const Record& record);
// The same digest when the caller already holds canonical_metadata_json(record.metadata).
std::uint64_t record_digest(const Record& record, std::string_view canonical_metadata);

// Order-independent digest of a collection's content: the record digests are sorted, then hashed
// with XXH3-128 as consecutive little-endian u64s. 32 lowercase hex chars (high 64 bits first).
// Duplicates are kept, so pass one digest per distinct record.
std::string content_digest(std::vector<std::uint64_t> record_digests);

// XXH3-64 of a byte string (e.g. a whole part file), and as 16 lowercase hex chars.
std::uint64_t xxh3_64(std::string_view bytes);
std::string xxh3_64_hex(std::string_view bytes);

// 16 lowercase hex chars, zero padded.
std::string hex64(std::uint64_t value);
// Parses exactly 16 hex chars (either case); nullopt otherwise.
std::optional<std::uint64_t> parse_hex64(std::string_view text);

// A 128-bit id hash: lets id sets (dedupe, indexes) use 16 bytes per id instead of the string.
// Two distinct ids colliding is a 2^-128-scale event, which callers accept.
struct IdHash {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  bool operator==(const IdHash&) const = default;
};
struct IdHashHasher {
  std::size_t operator()(const IdHash& h) const noexcept {
    return static_cast<std::size_t>(h.low ^ (h.high * 0x9E3779B97F4A7C15ULL));
  }
};
IdHash id_hash(std::string_view id);

}  // namespace cm
