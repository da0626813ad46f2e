#include "common/store/distance.hpp"

#include <cmath>

namespace cm {

std::optional<DistanceSpace> parse_distance_space(std::string_view name) {
  if (name == "l2") return DistanceSpace::kL2;
  if (name == "cosine") return DistanceSpace::kCosine;
  if (name == "ip") return DistanceSpace::kIp;
  return std::nullopt;
}

const char* distance_space_name(DistanceSpace space) {
  switch (space) {
    case DistanceSpace::kL2:
      return "l2";
    case DistanceSpace::kCosine:
      return "cosine";
    case DistanceSpace::kIp:
      return "ip";
  }
  return "?";
}

void prepare_rows(DistanceSpace space, RowMatrix& rows) {
  if (space != DistanceSpace::kCosine) return;
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    const float norm = rows.row(r).norm();
    if (norm > 0) rows.row(r) /= norm;
  }
}

void prepare_vector(DistanceSpace space, std::span<float> v) {
  if (space != DistanceSpace::kCosine) return;
  Eigen::Map<Eigen::VectorXf> map(v.data(), static_cast<Eigen::Index>(v.size()));
  const float norm = map.norm();
  if (norm > 0) map /= norm;
}

float prepared_distance(DistanceSpace space, const float* a, const float* b, std::size_t dim) {
  const auto n = static_cast<Eigen::Index>(dim);
  Eigen::Map<const Eigen::VectorXf> va(a, n), vb(b, n);
  if (space == DistanceSpace::kL2) return (va - vb).squaredNorm();
  return 1.0f - va.dot(vb);
}

Eigen::MatrixXf distance_block(DistanceSpace space, const Eigen::Ref<const RowMatrix>& points,
                               const Eigen::Ref<const RowMatrix>& queries) {
  if (space != DistanceSpace::kL2) {
    // One matrix product: dot products are what cosine (on normalised rows) and ip need.
    Eigen::MatrixXf out = points * queries.transpose();
    out.array() = 1.0f - out.array();
    return out;
  }
  Eigen::MatrixXf out(points.rows(), queries.rows());
  for (Eigen::Index q = 0; q < queries.rows(); ++q) {
    out.col(q) = (points.rowwise() - queries.row(q)).rowwise().squaredNorm();
  }
  return out;
}

}  // namespace cm
