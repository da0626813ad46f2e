#include "tests/support/memory_store.hpp"

#include <algorithm>

#include "common/store/distance.hpp"

namespace cm::testing {

MemoryStore::MemoryStore(std::string name, StoreLimits limits)
    : name_(std::move(name)), limits_(limits) {}

void MemoryStore::fail(const std::string& op, Error error, std::uint64_t first,
                       std::uint64_t last) {
  std::lock_guard lock(mu_);
  failures_.push_back({op, std::move(error), first, last == 0 ? first : last});
}

void MemoryStore::clear_failures() {
  std::lock_guard lock(mu_);
  failures_.clear();
}

void MemoryStore::set_hook(std::function<void(std::string_view, std::uint64_t)> hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

std::uint64_t MemoryStore::calls(std::string_view op) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

void MemoryStore::reset_calls() {
  std::lock_guard lock(mu_);
  calls_.clear();
}

std::uint64_t MemoryStore::writes() const {
  std::uint64_t n = 0;
  for (const char* op : {"create_collection", "delete_collection", "update_collection_metadata",
                         "rename_collection", "upsert", "delete_records", "remove_metadata_keys"})
    n += calls(op);
  return n;
}

std::vector<Record> MemoryStore::records_of(const std::string& collection) const {
  std::lock_guard lock(mu_);
  std::vector<Record> out;
  auto it = collections_.find(collection);
  if (it == collections_.end()) return out;
  for (const auto& [id, r] : it->second.records) out.push_back(r);
  return out;
}

Status MemoryStore::enter(std::string_view op) {
  std::uint64_t n;
  std::function<void(std::string_view, std::uint64_t)> hook;
  {
    std::lock_guard lock(mu_);
    auto it = calls_.find(op);
    if (it == calls_.end()) it = calls_.emplace(std::string(op), 0).first;
    n = ++it->second;
    hook = hook_;
  }
  if (hook) hook(op, n);
  std::lock_guard lock(mu_);
  for (const auto& f : failures_) {
    if (f.op == op && n >= f.first && n <= f.last) return std::unexpected(f.error);
  }
  return ok_status();
}

Result<MemoryStore::Collection*> MemoryStore::lookup_locked(const CollectionInfo& c) {
  if (!c.id.empty()) {
    for (auto& [name, col] : collections_) {
      if (col.info.id == c.id) return &col;
    }
    return make_error(ErrorCode::kNotFound, "no collection with id " + c.id + " in " + describe());
  }
  auto it = collections_.find(c.name);
  if (it == collections_.end())
    return make_error(ErrorCode::kNotFound, "no collection '" + c.name + "' in " + describe());
  return &it->second;
}

Result<std::vector<CollectionInfo>> MemoryStore::list_collections() {
  CM_RETURN_IF_ERROR(enter("list_collections"));
  std::lock_guard lock(mu_);
  std::vector<CollectionInfo> out;
  for (const auto& [name, c] : collections_) out.push_back(c.info);
  return out;
}

Result<std::optional<CollectionInfo>> MemoryStore::find_collection(const std::string& name) {
  CM_RETURN_IF_ERROR(enter("find_collection"));
  std::lock_guard lock(mu_);
  auto it = collections_.find(name);
  if (it == collections_.end()) return std::optional<CollectionInfo>{};
  return std::optional<CollectionInfo>(it->second.info);
}

Result<CollectionInfo> MemoryStore::create_collection(const CollectionSpec& spec) {
  CM_RETURN_IF_ERROR(enter("create_collection"));
  if (auto why = invalid_collection_name_reason(spec.name))
    return make_error(ErrorCode::kInvalidArgument, *why);
  std::lock_guard lock(mu_);
  if (collections_.contains(spec.name))
    return make_error(ErrorCode::kAlreadyExists, "collection '" + spec.name + "' exists");
  Collection c;
  c.info.name = spec.name;
  c.info.id = "mem-" + std::to_string(next_id_++);
  c.info.metadata = spec.metadata;
  c.info.hnsw = spec.hnsw;
  // Like a Chroma server: the configuration is kept (embedding_function and all) with hnsw set to
  // the parameters the collection was created with.
  c.info.configuration =
      spec.configuration.is_object() ? spec.configuration : nlohmann::json::object();
  c.info.configuration["hnsw"] = hnsw_to_json(spec.hnsw);
  auto info = c.info;
  collections_.emplace(spec.name, std::move(c));
  return info;
}

Status MemoryStore::delete_collection(const std::string& name) {
  CM_RETURN_IF_ERROR(enter("delete_collection"));
  std::lock_guard lock(mu_);
  if (collections_.erase(name) == 0)
    return make_error(ErrorCode::kNotFound, "no collection '" + name + "' in " + describe());
  return ok_status();
}

Status MemoryStore::update_collection_metadata(const CollectionInfo& collection,
                                               const Metadata& metadata) {
  CM_RETURN_IF_ERROR(enter("update_collection_metadata"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  c->info.metadata = metadata;
  return ok_status();
}

Status MemoryStore::rename_collection(const CollectionInfo& collection,
                                      const std::string& new_name) {
  CM_RETURN_IF_ERROR(enter("rename_collection"));
  if (auto why = invalid_collection_name_reason(new_name))
    return make_error(ErrorCode::kInvalidArgument, *why);
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  if (c->info.name == new_name) return ok_status();
  if (collections_.contains(new_name))
    return make_error(ErrorCode::kAlreadyExists, "collection '" + new_name + "' exists");
  auto node = collections_.extract(c->info.name);
  node.key() = new_name;
  node.mapped().info.name = new_name;
  collections_.insert(std::move(node));
  return ok_status();
}

Result<std::uint64_t> MemoryStore::count(const CollectionInfo& collection) {
  CM_RETURN_IF_ERROR(enter("count"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  return std::uint64_t{c->records.size()};
}

Result<std::vector<std::string>> MemoryStore::list_ids(const CollectionInfo& collection,
                                                       std::uint64_t offset, std::uint32_t limit) {
  CM_RETURN_IF_ERROR(enter("list_ids"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  std::vector<std::string> out;
  for (std::uint64_t i = offset; i < c->order.size() && out.size() < limit; ++i)
    out.push_back(c->order[i]);
  return out;
}

Result<std::vector<Record>> MemoryStore::get_records(const CollectionInfo& collection,
                                                     std::span<const std::string> ids) {
  CM_RETURN_IF_ERROR(enter("get_records"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  if (ids.size() > limits_.max_batch_size)
    return make_error(ErrorCode::kRejected,
                      "get of " + std::to_string(ids.size()) + " ids exceeds the batch limit");
  std::vector<Record> out;
  for (const auto& id : ids) {
    if (auto it = c->records.find(id); it != c->records.end()) out.push_back(it->second);
  }
  return out;
}

Status MemoryStore::upsert(const CollectionInfo& collection, std::span<const Record> records) {
  CM_RETURN_IF_ERROR(enter("upsert"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  if (records.size() > limits_.max_batch_size)
    return make_error(ErrorCode::kRejected, "upsert of " + std::to_string(records.size()) +
                                                " records exceeds the batch limit");
  std::optional<int> dim = c->info.dimension;
  for (const auto& r : records) {
    if (r.id.empty() || r.embedding.empty())
      return make_error(ErrorCode::kInvalidArgument, "record with an empty id or embedding");
    const int d = static_cast<int>(r.embedding.size());
    if (dim && *dim != d) {
      return make_error(ErrorCode::kInvalidArgument, "record '" + r.id + "' has dimension " +
                                                         std::to_string(d) + ", the collection " +
                                                         std::to_string(*dim));
    }
    dim = d;
  }
  c->info.dimension = dim;
  for (const auto& r : records) {
    auto [it, inserted] = c->records.insert_or_assign(r.id, r);
    if (inserted) c->order.push_back(r.id);
  }
  return ok_status();
}

Status MemoryStore::remove_metadata_keys(const CollectionInfo& collection,
                                         std::span<const MetadataKeyRemoval> removals) {
  CM_RETURN_IF_ERROR(enter("remove_metadata_keys"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  for (const auto& r : removals) {
    auto it = c->records.find(r.id);
    if (it == c->records.end()) continue;
    for (const auto& key : r.keys) it->second.metadata.erase(key);
  }
  return ok_status();
}

Status MemoryStore::delete_records(const CollectionInfo& collection,
                                   std::span<const std::string> ids) {
  CM_RETURN_IF_ERROR(enter("delete_records"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  for (const auto& id : ids) {
    if (c->records.erase(id) > 0) std::erase(c->order, id);
  }
  return ok_status();
}

Result<std::vector<std::vector<QueryHit>>> MemoryStore::query(
    const CollectionInfo& collection, std::span<const std::vector<float>> embeddings,
    std::size_t k) {
  CM_RETURN_IF_ERROR(enter("query"));
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(Collection * c, lookup_locked(collection));
  const auto space = parse_distance_space(c->info.hnsw.space);
  if (!space) return make_error(ErrorCode::kInvalidArgument, "unknown space " + c->info.hnsw.space);
  std::vector<std::vector<QueryHit>> out(embeddings.size());
  for (const auto& e : embeddings) {
    if (c->info.dimension && e.size() != static_cast<std::size_t>(*c->info.dimension)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "query embedding of dimension " + std::to_string(e.size()) +
                            " for a collection of dimension " + std::to_string(*c->info.dimension));
    }
  }
  if (k == 0) return out;
  std::vector<std::vector<float>> points;
  std::vector<const std::string*> ids;
  for (const auto& [id, r] : c->records) {
    points.push_back(r.embedding);
    prepare_vector(*space, points.back());
    ids.push_back(&id);
  }
  for (std::size_t q = 0; q < embeddings.size(); ++q) {
    std::vector<float> query = embeddings[q];
    prepare_vector(*space, query);
    TopK<std::string> top(k);
    for (std::size_t i = 0; i < points.size(); ++i)
      top.offer(prepared_distance(*space, points[i].data(), query.data(), query.size()), *ids[i]);
    for (auto& [distance, id] : top.take()) out[q].push_back({std::move(id), distance});
  }
  return out;
}

Status MemoryStore::flush() {
  return enter("flush");
}

}  // namespace cm::testing
