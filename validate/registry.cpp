// The eight validation tests, in report order (issue 4's numbering).
#include "validate/checks/checks.hpp"

namespace cm::validate {

std::vector<std::unique_ptr<Check>> all_checks() {
  std::vector<std::unique_ptr<Check>> checks;
  checks.push_back(make_count_verification_check());
  checks.push_back(make_embedding_integrity_check());
  checks.push_back(make_metadata_completeness_check());
  checks.push_back(make_semantic_search_check());
  checks.push_back(make_collection_distribution_check());
  checks.push_back(make_duplicate_detection_check());
  checks.push_back(make_field_type_validation_check());
  checks.push_back(make_citation_references_check());
  return checks;
}

}  // namespace cm::validate
