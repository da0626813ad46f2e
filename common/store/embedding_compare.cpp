#include "common/store/embedding_compare.hpp"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace cm {

EmbeddingDifference compare_embeddings(std::string_view space, std::span<const float> a,
                                       std::span<const float> b) {
  EmbeddingDifference d;
  if (a.size() != b.size()) {
    d.equivalent = false;
    d.relative_error = INFINITY;
    d.cosine_similarity = 0;
    return d;
  }
  double dot = 0, na = 0, nb = 0, diff2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
    diff2 += (x - y) * (x - y);
    d.max_abs_error = std::max(d.max_abs_error, std::fabs(x - y));
  }
  na = std::sqrt(na);
  nb = std::sqrt(nb);
  d.relative_error = na > 0 ? std::sqrt(diff2) / na : std::sqrt(diff2);
  d.cosine_similarity = na > 0 && nb > 0 ? dot / (na * nb) : (na == nb ? 1.0 : 0.0);
  if (space == "cosine") {
    d.equivalent = d.max_abs_error <= 4.0 * FLT_EPSILON * na;
  } else {
    d.equivalent = a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
  }
  return d;
}

}  // namespace cm
