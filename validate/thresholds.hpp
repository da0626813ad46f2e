// The numbers chroma-validate judges against. Every field has a documented default (the table in
// validate/README.md) and can be overridden with `--thresholds FILE`: a JSON object holding any
// subset of the keys below; an unknown key, a wrong type or an out-of-range value is an error that
// names the place ("thresholds.json: recall_threshold: must be a number in [0, 1]").
//
// Not a threshold: the embedding bound. l2/ip vectors must come back bit for bit and cosine vectors
// within 4 * FLT_EPSILON * |a|_2 per component (common/store/embedding_compare.hpp): that is what a
// Chroma round trip can do to a float32 vector, so any larger difference is corruption.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm::validate {

struct Thresholds {
  // Count verification: missing records as a share of the expected records. Above the warning
  // level the test warns (any missing record already fails it: counts must match exactly); above
  // the failure level rollback is triggered with "Data Loss Detected".
  double data_loss_warning_pct = 0.0;
  double data_loss_fail_pct = 5.0;
  // Embedding integrity: records allowed beyond the float32 bound before the test fails.
  std::uint64_t embedding_mismatch_max = 0;
  // Semantic-search equivalence (check 4): a query passes when its recall@k reaches this; a result
  // counts as a hit when its distance is within distance_tie_tolerance of the true k-th distance.
  double recall_threshold = 0.9;
  double distance_tie_tolerance = 1e-3;
  // Share of queries below recall_threshold: above the warning level the test warns, above the
  // failure level it fails and rollback is triggered with "Search Results Diverged".
  double semantic_divergence_warning_pct = 5.0;
  double semantic_divergence_fail_pct = 20.0;
  // Check 4: a shortfall whose missed neighbours are all in the target with their expected vectors
  // is the approximate (HNSW) index's, not divergence. It only warns when a collection's mean
  // recall@k (target vs exact) falls below this floor: a default-configured HNSW stays well above
  // it even on hard data, so a mean below one half signals a badly configured index (tiny
  // ef_search or max_neighbors), not a migration fault.
  double ann_recall_warning_floor = 0.5;
  // Duplicate detection: two distinct records whose vectors have at least this cosine similarity
  // are near-duplicates.
  double near_duplicate_similarity = 0.999;
  // Semantic search: the most memory an hnswlib baseline index may take (MB). A collection whose
  // index would be larger gets none (the report says so): the baseline explains a shortfall, it
  // never decides the verdict, and validation's memory must not grow with the collection.
  std::uint64_t baseline_memory_mb = 128;
};

// Applies the keys of `document` over `base`; `origin` prefixes every message.
Result<Thresholds> parse_thresholds(const nlohmann::json& document, const std::string& origin,
                                    Thresholds base = {});
// Reads a thresholds file (JSON; kNotFound/kIo when unreadable, kInvalidArgument when invalid).
Result<Thresholds> load_thresholds(const std::filesystem::path& path);
// Every field, keyed as in the file: what the report prints as the thresholds in force.
nlohmann::json thresholds_to_json(const Thresholds& thresholds);

}  // namespace cm::validate
