// Encoding and decoding of Chroma HTTP API v2 JSON bodies. No I/O: ChromaHttpStore sends what
// these functions build and hands them what the server answered.
//
// Decoding contract (every parse_* function):
//  - Anything that is not the expected shape is ErrorCode::kProtocol with a message saying what
//    was wrong where; nothing throws.
//  - Embedding values are parsed from their JSON text straight to float32 (correctly rounded, the
//    same value strtof gives), never through double: Rust 1.x servers send shortest float32 text
//    and Python 0.x servers send doubles, and both must land on the exact stored float.
//    A value beyond float32 range or a null (Chroma 1.0.x answers null for a stored inf/NaN) is
//    kProtocol naming the record.
//  - Metadata values keep their JSON type: 1 is int64, 1.0 and 1e5 are double, true is bool.
//    Nested objects, arrays, nulls and integers beyond int64 are kProtocol naming the key.
//    A null or {} metadata is an empty Metadata. A null document is std::nullopt; "" stays "".
//
// Encoding contract: bodies are valid JSON for every input. Strings are escaped per RFC 8259;
// invalid UTF-8 bytes (which no JSON source can produce) are replaced by U+FFFD. Non-finite
// values have no JSON spelling, so they are written as null and the server rejects the request;
// the caller should not send them. (In base64 mode the float32 bytes are sent verbatim and
// Chroma 1.0.5 accepts inf/NaN, then reads them back as null.)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/store/record.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

// The error every decoder of a Chroma answer returns for a body it cannot use (kProtocol).
std::unexpected<Error> wire_protocol_error(const std::string& what);

// --- responses ---

// A get answer that included embeddings, documents and metadatas (all four arrays required) and,
// when the server sent a `uris` array (include "uris"), the uris (null stays nullopt).
Result<std::vector<Record>> parse_get_records(std::string_view body);
// The ids of a get answer (other fields are ignored).
Result<std::vector<std::string>> parse_get_ids(std::string_view body);
// A query answer with distances: {"ids":[[...],...],"distances":[[...],...]} holding exactly
// `queries` lists, each list's ids and distances of equal length (other fields are ignored).
// A null distance (a non-finite one the server cannot write as JSON, e.g. an overflowed `ip`
// dot product) is read as NaN.
Result<std::vector<std::vector<QueryHit>>> parse_query_answer(std::string_view body,
                                                              std::size_t queries);

// One collection object: id, name, metadata, dimension (may be null), configuration_json kept
// verbatim in `configuration`. HNSW settings come from configuration_json.hnsw (1.x), else
// configuration_json.hnsw_configuration (0.5/0.6), else legacy metadata keys (hnsw:space,
// hnsw:construction_ef, hnsw:search_ef, hnsw:M, hnsw:resize_factor, hnsw:sync_threshold), else
// defaults. Legacy keys stay in `metadata` as the server reported them.
Result<CollectionInfo> parse_collection(const nlohmann::json& json);
Result<CollectionInfo> parse_collection_body(std::string_view body);
Result<std::vector<CollectionInfo>> parse_collection_list(std::string_view body);
// GET .../count: a bare non-negative integer.
Result<std::uint64_t> parse_count(std::string_view body);
// GET /api/v2/pre-flight-checks. A missing field keeps its StoreLimits default (base64 off).
Result<StoreLimits> parse_preflight(std::string_view body);

// `{"error":"X","message":"Y"}` -> "X: Y" (either part alone when the other is missing; FastAPI's
// {"detail": ...} is dumped). Anything else: the raw body, whitespace-trimmed, cut to 500 bytes.
std::string server_error_message(std::string_view body);

// --- requests ---

// {"ids":[...],"embeddings":[...],"documents":[...],"metadatas":[...]} plus "uris":[...] (null for
// records without one) when any record has a uri. With `base64`, each
// embedding is one base64 string of its little-endian float32 bytes; otherwise each float is its
// shortest round-trip float32 text. Empty metadata is written as null.
std::string encode_upsert_body(std::span<const Record> records, bool base64);
// {"ids":[...],"include":["embeddings","documents","metadatas","uris"]}
std::string encode_get_by_ids_body(std::span<const std::string> ids);
// {"limit":L,"offset":O,"include":[]}
std::string encode_list_ids_body(std::uint64_t offset, std::uint32_t limit);
// {"ids":[...],"metadatas":[{"k":null,...},...]}: Chroma's update removes a key set to null and
// leaves embeddings, documents and every other key alone.
std::string encode_remove_keys_body(std::span<const MetadataKeyRemoval> removals);
// {"ids":[...]}
std::string encode_ids_body(std::span<const std::string> ids);
// {"query_embeddings":[[...],...],"n_results":k,"include":["distances"]}. Embeddings are always
// decimal floats (shortest round-trip float32 text): Chroma 1.0.5 rejects base64 strings in
// query_embeddings ("invalid type: string ..., expected a sequence") although upsert takes them.
std::string encode_query_body(std::span<const std::vector<float>> embeddings, std::size_t k);
// {"name":...,"metadata":{...} (omitted when empty: Chroma rejects {}),
//  "configuration": create_configuration(spec)}
std::string encode_create_collection_body(const CollectionSpec& spec);
// The configuration a collection is created with: spec.configuration verbatim (embedding_function,
// spann, keys this suite does not know) with "hnsw" set to spec.hnsw's six fields; 0.x's internal
// "_type" and "hnsw_configuration" are dropped, and hnsw is left out when a non-null "spann" is the
// index. The facts behind this are in the definition's comment.
nlohmann::json create_configuration(const CollectionSpec& spec);

// Appends `text` as a quoted, escaped JSON string.
void append_json_string(std::string_view text, std::string* out);
// Appends a metadata map as a JSON object (null when empty). Doubles always carry a '.' or an
// exponent so they read back as floats; ints never do.
void append_metadata_json(const Metadata& metadata, std::string* out);

}  // namespace cm
