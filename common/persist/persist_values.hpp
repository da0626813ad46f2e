// Decoding the values Chroma stores in chroma.sqlite3: typed metadata columns, the JSON metadata
// and the vector blobs of embeddings_queue rows.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.hpp"
#include "common/persist/sqlite_db.hpp"
#include "common/store/record.hpp"

namespace cm {

// The special keys Chroma keeps among a record's metadata rows and in queue JSON.
inline constexpr std::string_view kDocumentKey = "chroma:document";
inline constexpr std::string_view kUriKey = "chroma:uri";

// One metadata value from columns (string, int, float[, bool]) starting at `first`: the first
// non-NULL one in that order wins, as Chroma's own readers decide (0.4.0-0.4.3 had no bool
// column and stored bools as ints). nullopt when every column is NULL.
std::optional<MetaValue> typed_value(const SqliteStatement& stmt, int first, bool with_bool);

// A queue row's metadata JSON: each key's new value, or nullopt for a JSON null (an update
// removing the key). Numbers keep Chroma's distinction: 3 is an int, 3.0 a float. The document and
// uri arrive under kDocumentKey / kUriKey like any key. kCorruption for invalid JSON, a non-object,
// nested values or an integer beyond int64.
using MetadataUpdate = std::vector<std::pair<std::string, std::optional<MetaValue>>>;
Result<MetadataUpdate> parse_queue_metadata(std::string_view json_text);

// A queue row's vector blob: `encoding` FLOAT32 (native little-endian float32, what 0.4-1.x
// write: Python's array('f').tobytes(), Rust's bytemuck::cast_slice) or INT32 (converted). The
// length must be a whole number of 4-byte values and match `dimension` when known.
Result<std::vector<float>> decode_queue_vector(std::string_view blob, std::string_view encoding,
                                               std::optional<int> dimension);

// Applies a metadata update to a record: kDocumentKey and kUriKey set (or clear) document and
// uri, other `chroma:*` keys are Chroma's own and hidden (as a server hides them), every other key
// is set or removed.
void apply_metadata_update(const MetadataUpdate& update, Record* record);
// The same for one key set to `value` (moved in): the hot path of reading the metadata segment,
// whose rows arrive one (record, key) at a time.
void apply_metadata_value(std::string_view key, MetaValue&& value, Record* record);

}  // namespace cm
