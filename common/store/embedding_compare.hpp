// When two embeddings count as the same vector after a trip through a Chroma server.
//
// l2 and ip collections store the float32 values as sent: equality is bitwise.
// cosine collections store the normalised vector and its norm, and return v/|v| * |v| computed in
// float32, so a vector read back can differ from the one sent by a rounding step per operation
// (measured: 1-2 ulp on some components). The bound allows each component an error of
// 4 * FLT_EPSILON * |a|_2: the normalise-then-scale round trip is ~3 float32 roundings of
// quantities at most |a|_2, plus one for the norm itself. It is ~5e-7 for unit vectors, four
// orders of magnitude below any perturbation that would change a search result.
#pragma once

#include <span>
#include <string_view>

namespace cm {

struct EmbeddingDifference {
  bool equivalent = true;
  double max_abs_error = 0;   // largest |a_i - b_i|
  double relative_error = 0;  // |a - b|_2 / |a|_2
  double cosine_similarity = 1;
};

// Compares under the rule of `space` ("l2", "ip" bitwise; "cosine" within the bound above).
// Vectors of different dimension are never equivalent.
EmbeddingDifference compare_embeddings(std::string_view space, std::span<const float> expected,
                                       std::span<const float> actual);

}  // namespace cm
