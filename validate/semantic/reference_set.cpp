#include "validate/semantic/reference_set.hpp"

#include <cmath>

namespace cm::validate {
namespace {

constexpr std::uint32_t kIdPage = 10000;

// Every id of a snapshot collection, page by page (ids only: no vectors are decoded).
Status for_each_id(SnapshotStore& store, const CollectionInfo& collection,
                   const std::function<void(const std::string&)>& visit) {
  for (std::uint64_t offset = 0;; offset += kIdPage) {
    CM_ASSIGN_OR_RETURN(auto ids, store.list_ids(collection, offset, kIdPage));
    for (const auto& id : ids) visit(id);
    if (ids.size() < kIdPage) return ok_status();
  }
}

Status for_each_part(SnapshotStore& store, const std::string& collection,
                     const std::function<Status(std::vector<Record>&)>& visit) {
  CM_ASSIGN_OR_RETURN(std::size_t parts, store.part_count(collection));
  for (std::size_t i = 0; i < parts; ++i) {
    CM_ASSIGN_OR_RETURN(auto records, store.read_part_vectors(collection, i));
    CM_RETURN_IF_ERROR(visit(records));
  }
  return ok_status();
}

}  // namespace

bool merged_by_run(ValidationContext& ctx, const std::string& target) {
  const auto* entry = ctx.manifest.find_target(target);
  return entry && entry->action == LedgerAction::kMerged;
}

Result<std::unique_ptr<SnapshotStore>> open_backup(const ValidationContext& ctx) {
  const std::string rel =
      ctx.manifest.backup.value("path", WorkDir::snapshot_relative(WorkDir::kBackupSnapshot));
  // Direct open: see run_validation (validator.cpp) on why validation reads snapshots unwrapped.
  auto backup = SnapshotStore::open(ctx.work.resolve(rel), SnapshotStore::Mode::kRead);
  if (!backup) {
    return std::unexpected(std::move(backup).error().with_context(
        "reading the records merged target collections held before the run"));
  }
  return std::move(*backup);
}

Status stream_target_content(ValidationContext& ctx, const std::string& target,
                             SnapshotStore* backup, const ReferenceSet::Visitor& visit) {
  IdHashSet seen;
  const auto take = [&](std::vector<Record>& records) -> Status {
    for (const auto& r : records) {
      if (seen.insert(id_hash(r.id))) CM_RETURN_IF_ERROR(visit(r));
    }
    return ok_status();
  };
  CM_ASSIGN_OR_RETURN(auto info, ctx.expected.find_collection(target));
  if (info) CM_RETURN_IF_ERROR(for_each_part(ctx.expected, target, take));
  if (!backup || !merged_by_run(ctx, target)) return ok_status();
  CM_ASSIGN_OR_RETURN(auto before, backup->find_collection(target));
  if (!before) return ok_status();
  return for_each_part(*backup, target, take);  // ids the run brought were seen above
}

Result<ReferenceSet> ReferenceSet::plan(ValidationContext& ctx, const CollectionInfo& source,
                                        const std::vector<std::string>& targets,
                                        const Visitor& pick) {
  ReferenceSet set;
  set.ctx_ = &ctx;
  CM_ASSIGN_OR_RETURN(std::size_t source_parts, ctx.exported.part_count(source.name));
  // Sized once from the snapshot's count (the manifest's, so free): no growth, 20 bytes an id.
  CM_ASSIGN_OR_RETURN(std::uint64_t source_count, ctx.exported.count(source));
  set.source_ids_.reserve(source_count);
  for (std::size_t i = 0; i < source_parts; ++i) {
    CM_ASSIGN_OR_RETURN(auto records, ctx.exported.read_part_vectors(source.name, i));
    for (const auto& r : records) {
      set.source_ids_.insert(id_hash(r.id));
      CM_RETURN_IF_ERROR(pick(r));
    }
    set.counts_.source_records += records.size();
    set.parts_.push_back(Part{&ctx.exported, source.name, i, Part::Take::kLanded});
  }
  std::vector<std::string> merged_targets;
  for (const auto& target : targets) {
    CM_ASSIGN_OR_RETURN(auto info, ctx.expected.find_collection(target));
    if (!info) continue;
    CM_ASSIGN_OR_RETURN(std::uint64_t target_count, ctx.expected.count(*info));
    set.expected_ids_.reserve(set.expected_ids_.size() + target_count);
    CM_RETURN_IF_ERROR(for_each_id(ctx.expected, *info, [&](const std::string& id) {
      const IdHash h = id_hash(id);
      if (!set.expected_ids_.insert(h)) return;  // also in another routed target
      ++(set.source_ids_.contains(h) ? set.counts_.landed : set.counts_.merged_in);
    }));
    CM_ASSIGN_OR_RETURN(std::size_t parts, ctx.expected.part_count(target));
    for (std::size_t i = 0; i < parts; ++i) {
      set.parts_.push_back(Part{&ctx.expected, target, i, Part::Take::kNotFromSource});
    }
    if (merged_by_run(ctx, target)) merged_targets.push_back(target);
  }
  if (merged_targets.empty()) return set;

  CM_ASSIGN_OR_RETURN(set.backup_, open_backup(ctx));
  IdHashSet retained;
  for (const auto& target : merged_targets) {
    CM_ASSIGN_OR_RETURN(auto info, set.backup_->find_collection(target));
    if (!info) continue;  // the collection was empty or absent before the run
    CM_RETURN_IF_ERROR(for_each_id(*set.backup_, *info, [&](const std::string& id) {
      const IdHash h = id_hash(id);
      if (!set.expected_ids_.contains(h)) retained.insert(h);
    }));
    CM_ASSIGN_OR_RETURN(std::size_t parts, set.backup_->part_count(target));
    for (std::size_t i = 0; i < parts; ++i) {
      set.parts_.push_back(Part{set.backup_.get(), target, i, Part::Take::kRetained});
    }
  }
  set.counts_.retained = retained.size();
  return set;
}

Status ReferenceSet::stream(const Visitor& visit) const {
  // The landed rows need no dedupe: a sealed export holds each id once, and the other parts take
  // no id of the source. Only the others can repeat (an id in two routed targets).
  IdHashSet seen;
  seen.reserve(counts_.merged_in + counts_.retained);
  for (const auto& part : parts_) {
    CM_ASSIGN_OR_RETURN(auto records, part.store->read_part_vectors(part.collection, part.index));
    for (const auto& r : records) {
      const IdHash h = id_hash(r.id);
      bool take = false;
      switch (part.take) {
        case Part::Take::kLanded:  // a source record is in the set when it landed
          if (expected_ids_.contains(h)) CM_RETURN_IF_ERROR(visit(r));
          continue;
        case Part::Take::kNotFromSource:
          take = !source_ids_.contains(h);
          break;
        case Part::Take::kRetained:
          take = !expected_ids_.contains(h);
          break;
      }
      if (take && seen.insert(h)) CM_RETURN_IF_ERROR(visit(r));
    }
  }
  return ok_status();
}

namespace {

Status check_dimension(const Record& r, std::size_t dim) {
  if (r.embedding.size() == dim) return ok_status();
  return make_error(ErrorCode::kInvalidArgument, "record '" + r.id + "' has dimension " +
                                                     std::to_string(r.embedding.size()) +
                                                     ", the collection " + std::to_string(dim));
}

// The running top-k lists of exact_top_k, fed one block of rows at a time.
class TopKScan {
 public:
  TopKScan(DistanceSpace space, const RowMatrix& queries, std::span<const std::size_t> ks,
           std::size_t source_rows)
      : space_(space), queries_(queries), source_rows_(source_rows) {
    for (const std::size_t k : ks) {
      all_.emplace_back(k);
      if (source_rows_ > 0) source_.emplace_back(k);
    }
    non_finite_.assign(ks.size(), 0);
  }

  // `block` holds the raw vectors of rows [first_row, first_row + ids.size()).
  void add(RowMatrix& block, std::span<const std::string> ids, std::uint64_t first_row) {
    const auto n = static_cast<Eigen::Index>(ids.size());
    prepare_rows(space_, block);
    const Eigen::MatrixXf d = distance_block(space_, block.topRows(n), queries_);
    for (std::size_t q = 0; q < all_.size(); ++q) {
      const auto column = d.col(static_cast<Eigen::Index>(q));
      for (Eigen::Index r = 0; r < n; ++r) {
        const float distance = column(r);
        if (!std::isfinite(distance)) {
          ++non_finite_[q];
          continue;
        }
        const std::uint64_t row = first_row + static_cast<std::uint64_t>(r);
        offer(all_[q], distance, row, ids[static_cast<std::size_t>(r)]);
        if (row < source_rows_) offer(source_[q], distance, row, ids[static_cast<std::size_t>(r)]);
      }
    }
  }

  ExactTopK take() {
    ExactTopK out;
    out.all = take(all_);
    out.source_only = take(source_);
    out.non_finite = std::move(non_finite_);
    return out;
  }

 private:
  // Keyed by row, so ties keep the stream's order; the ids of rows that ever entered a list are
  // kept aside (a few per query).
  void offer(TopK<std::uint64_t>& top, float distance, std::uint64_t row, const std::string& id) {
    if (!top.would_accept(distance)) return;
    top.offer(distance, row);
    id_of_.try_emplace(row, id);
  }
  std::vector<std::vector<QueryHit>> take(std::vector<TopK<std::uint64_t>>& tops) {
    std::vector<std::vector<QueryHit>> out(tops.size());
    for (std::size_t q = 0; q < tops.size(); ++q) {
      for (const auto& [distance, row] : tops[q].take())
        out[q].push_back(QueryHit{id_of_.at(row), distance});
    }
    return out;
  }

  DistanceSpace space_;
  const RowMatrix& queries_;
  std::size_t source_rows_;
  std::vector<TopK<std::uint64_t>> all_, source_;
  std::vector<std::size_t> non_finite_;
  std::unordered_map<std::uint64_t, std::string> id_of_;
};

}  // namespace

RowStream rows_of(const ReferenceSet& set) {
  return [&set](const ReferenceSet::Visitor& visit) { return set.stream(visit); };
}

Result<ExactTopK> exact_top_k(const RowStream& stream, DistanceSpace space, std::size_t dim,
                              const RowMatrix& queries, std::span<const std::size_t> ks,
                              std::size_t source_rows, std::uint64_t expected_rows) {
  // Blocks keep the distance matrix small (block x queries floats) whatever the size.
  constexpr Eigen::Index kBlock = 4096;
  TopKScan scan(space, queries, ks, source_rows);
  RowMatrix block(kBlock, static_cast<Eigen::Index>(dim));
  std::vector<std::string> ids;
  std::uint64_t first_row = 0;
  const auto flush = [&] {
    if (ids.empty()) return;
    scan.add(block, ids, first_row);
    first_row += ids.size();
    ids.clear();
  };
  CM_RETURN_IF_ERROR(stream([&](const Record& r) -> Status {
    CM_RETURN_IF_ERROR(check_dimension(r, dim));
    block.row(static_cast<Eigen::Index>(ids.size())) =
        Eigen::Map<const Eigen::RowVectorXf>(r.embedding.data(), block.cols());
    ids.push_back(r.id);
    if (static_cast<Eigen::Index>(ids.size()) == kBlock) flush();
    return ok_status();
  }));
  flush();
  if (expected_rows != SIZE_MAX && first_row != expected_rows) {
    return make_error(ErrorCode::kInternal, "a snapshot changed while it was being read");
  }
  return scan.take();
}

Result<ReferenceMatrix> ReferenceMatrix::load(const RowStream& stream, DistanceSpace space,
                                              std::size_t dim, const IdHashSet& wanted) {
  ReferenceMatrix m;
  m.space = space;
  std::vector<float> flat;
  CM_RETURN_IF_ERROR(stream([&](const Record& r) -> Status {
    CM_RETURN_IF_ERROR(check_dimension(r, dim));
    const IdHash h = id_hash(r.id);
    if (!wanted.contains(h)) return ok_status();
    m.row_of.emplace(h, static_cast<std::uint32_t>(m.ids.size()));
    m.ids.push_back(r.id);
    flat.insert(flat.end(), r.embedding.begin(), r.embedding.end());
    return ok_status();
  }));
  m.rows = Eigen::Map<const RowMatrix>(flat.data(), static_cast<Eigen::Index>(m.ids.size()),
                                       static_cast<Eigen::Index>(dim));
  prepare_rows(space, m.rows);
  return m;
}

std::optional<float> ReferenceMatrix::distance(const RowMatrix& queries, std::size_t q,
                                               const std::string& id) const {
  auto it = row_of.find(id_hash(id));
  if (it == row_of.end()) return std::nullopt;
  return prepared_distance(space, rows.row(it->second).data(),
                           queries.row(static_cast<Eigen::Index>(q)).data(),
                           static_cast<std::size_t>(rows.cols()));
}

}  // namespace cm::validate
