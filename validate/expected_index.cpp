#include "validate/expected_index.hpp"

namespace cm::validate {

std::optional<std::uint32_t> ExpectedIndex::collection_index(const std::string& name) const {
  for (std::size_t i = 0; i < collections_.size(); ++i) {
    if (collections_[i] == name) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

std::uint32_t ExpectedIndex::group_index(const std::string& name) {
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i] == name) return static_cast<std::uint32_t>(i);
  }
  groups_.push_back(name);
  return static_cast<std::uint32_t>(groups_.size() - 1);
}

void ExpectedIndex::add(const IdHash& id, Placement placement) {
  ++size_;
  placements_.add(id, placement);
}

std::vector<Placement> ExpectedIndex::placements(const IdHash& id) const {
  std::vector<Placement> out;
  for (const auto& [hash, p] : placements_.find(id)) out.push_back(p);
  return out;
}

std::optional<Placement> ExpectedIndex::placement_in(const IdHash& id,
                                                     std::uint32_t collection) const {
  for (const auto& [hash, p] : placements_.find(id)) {
    if (p.collection == collection) return p;
  }
  return std::nullopt;
}

Result<ExpectedIndex> ExpectedIndex::build(SnapshotStore& expected, SnapshotStore& exported,
                                           const RunManifest& manifest,
                                           const contracts::Mapping* mapping) {
  constexpr std::uint32_t kPage = 10000;
  ExpectedIndex out;
  for (const auto& entry : manifest.target_collections) out.collections_.push_back(entry.name);
  for (std::uint32_t c = 0; c < out.collections_.size(); ++c) {
    const auto& entry = manifest.target_collections[c];
    CM_ASSIGN_OR_RETURN(auto info, expected.find_collection(entry.name));
    if (!info) {
      return make_error(ErrorCode::kCorruption, "the import snapshot " + expected.describe() +
                                                    " lacks target collection '" + entry.name +
                                                    "' of the run's ledger");
    }
    // Without a mapping a target collection is fed by exactly one source (identity transform).
    const std::uint32_t group =
        mapping ? kUnattributed
                : out.group_index(entry.source_collections.empty() ? entry.name
                                                                   : entry.source_collections[0]);
    for (std::uint64_t offset = 0;; offset += kPage) {
      CM_ASSIGN_OR_RETURN(auto ids, expected.list_ids(*info, offset, kPage));
      for (const auto& id : ids) out.add(id_hash(id), {c, group});
      if (ids.size() < kPage) break;
    }
  }
  out.placements_.seal();
  if (mapping) {
    const contracts::TransformContext tctx{manifest.run_id, manifest.started_at};
    for (const auto& source : manifest.source_collections) {
      CM_ASSIGN_OR_RETURN(std::size_t parts, exported.part_count(source));
      for (std::size_t p = 0; p < parts; ++p) {
        CM_ASSIGN_OR_RETURN(auto records, exported.read_part(source, p));
        for (const auto& r : records) {
          auto t = contracts::transform_record(*mapping, source, r, tctx);
          if (!t || t->outcome != contracts::Transformed::Outcome::kRouted) continue;
          auto c = out.collection_index(t->target);
          if (!c) continue;
          const IdHash h = id_hash(t->record.id);
          const std::uint32_t group = out.group_index(source + " -> " + t->route);
          for (auto& [hash, placed] : out.placements_.find(h)) {
            if (placed.collection == *c) placed.group = group;
          }
        }
      }
    }
  }
  for (const auto& [id, p] : out.placements_.entries())
    ++out.group_counts_[{p.collection, p.group}];
  return out;
}

}  // namespace cm::validate
