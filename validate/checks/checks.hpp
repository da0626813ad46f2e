// One factory per validation test, each defined in the file of the same name in this folder.
// validate/registry.cpp lists them in report order.
#pragma once

#include <memory>

#include "validate/check.hpp"

namespace cm::validate {

std::unique_ptr<Check> make_count_verification_check();       // 1 count_verification.cpp
std::unique_ptr<Check> make_embedding_integrity_check();      // 2 embedding_integrity.cpp
std::unique_ptr<Check> make_metadata_completeness_check();    // 3 metadata_completeness.cpp
std::unique_ptr<Check> make_semantic_search_check();          // 4 semantic_search.cpp
std::unique_ptr<Check> make_collection_distribution_check();  // 5 collection_distribution.cpp
std::unique_ptr<Check> make_duplicate_detection_check();      // 6 duplicate_detection.cpp
std::unique_ptr<Check> make_field_type_validation_check();    // 7 field_type_validation.cpp
std::unique_ptr<Check> make_citation_references_check();      // 8 citation_references.cpp

}  // namespace cm::validate
