// index_metadata.pickle: the HNSW segment's map from hnswlib labels to user ids, read with the
// pickle reader (common/persist/pickle_reader.hpp), in both shapes Chroma wrote:
//   1.x:      a plain dict {dimensionality, total_elements_added, max_seq_id (None, deprecated),
//             id_to_label {str: int}, label_to_id {int: str}, id_to_seq_id}
//   0.4-0.6:  a PersistentData object whose BUILD state is that dict (max_seq_id an int: the
//             vector segment's position in embeddings_queue before the max_seq_id table held it)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.hpp"

namespace cm {

struct LabelEntry {
  std::string id;
  std::uint64_t label = 0;
};

struct IndexMetadata {
  enum class Shape { kDict, kPersistentData };
  Shape shape = Shape::kDict;
  std::vector<LabelEntry> labels;  // from id_to_label, in the file's order
  std::uint64_t total_elements_added = 0;
  std::optional<std::uint64_t> max_seq_id;  // the pickle's own (0.x); nullopt when None/absent
  std::optional<std::uint64_t> dimensionality;
};

// Decodes the file's bytes. kCorruption (message without the file name: callers add it) when the
// pickle is malformed, is neither shape, or its two maps disagree (a label mapped to two ids, an
// id_to_label pair missing from label_to_id or the other way round, negative labels).
Result<IndexMetadata> parse_index_metadata(std::string_view bytes);

}  // namespace cm
