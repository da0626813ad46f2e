#include "common/store/same_content.hpp"

#include "common/store/embedding_compare.hpp"

namespace cm {

bool same_content(const std::string& space, const Record& a, const Record& b) {
  return a.document == b.document && a.uri == b.uri && a.metadata == b.metadata &&
         compare_embeddings(space, a.embedding, b.embedding).equivalent;
}

}  // namespace cm
