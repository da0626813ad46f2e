#include "common/persist/persist_store.hpp"

#include <algorithm>

#include "common/persist/persist_store_internal.hpp"
#include "common/store/uri.hpp"

namespace cm {

PersistStore::PersistStore(std::filesystem::path dir, PersistStoreOptions options, Files files,
                           SqliteDb db)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      files_(std::move(files)),
      db_(std::move(db)) {}

PersistStore::~PersistStore() = default;

Result<std::unique_ptr<PersistStore>> PersistStore::open(const std::filesystem::path& dir,
                                                         const PersistStoreOptions& options) {
  Files files{dir, nullptr, nullptr};
  std::error_code ec;
  if (is_persist_archive(dir) && !std::filesystem::is_directory(dir, ec)) {
    CM_ASSIGN_OR_RETURN(auto unpacked, UnpackedArchive::unpack(dir, options.scratch_parent));
    files.unpacked = std::make_shared<const UnpackedArchive>(std::move(unpacked));
    files.data = files.unpacked->persist_dir();
  }
  CM_ASSIGN_OR_RETURN(SqliteCopy copy, SqliteCopy::make(files.data, options.scratch_parent));
  files.copy = std::make_shared<const SqliteCopy>(std::move(copy));
  return open_on(dir, options, std::move(files));
}

Result<std::unique_ptr<PersistStore>> PersistStore::open_database(
    const std::string& tenant, const std::string& database) const {
  PersistStoreOptions options = options_;
  options.tenant = tenant;
  options.database = database;
  return open_on(dir_, options, files_);
}

Result<std::unique_ptr<PersistStore>> PersistStore::open_on(const std::filesystem::path& dir,
                                                            const PersistStoreOptions& options,
                                                            Files files) {
  auto db = SqliteDb::open(files.copy->database());
  if (!db) {
    return std::unexpected(
        std::move(db).error().with_context("reading " + (dir / "chroma.sqlite3").string()));
  }
  auto store = std::unique_ptr<PersistStore>(
      new PersistStore(dir, options, std::move(files), std::move(*db)));
  const std::string label = "persist directory " + dir.string();
  CM_ASSIGN_OR_RETURN(store->schema_, detect_schema(store->db_, label));
  if (options.tenant.empty()) return store;  // the directory alone (see the header)
  auto collections = read_collections(store->db_, store->schema_, options.tenant, options.database);
  if (!collections) return std::unexpected(std::move(collections).error().with_context(label));
  store->collections_ = std::move(*collections);
  return store;
}

std::string PersistStore::describe() const {
  StoreUri uri;
  uri.kind = StoreUri::Kind::kPersist;
  uri.persist_dir = dir_;
  uri.tenant = options_.tenant;
  uri.database = options_.database;
  return uri.redacted();
}

Result<StoreLimits> PersistStore::limits() {
  return StoreLimits{kMaxBatchSize, false};
}

Result<std::vector<CollectionInfo>> PersistStore::list_collections() {
  std::vector<CollectionInfo> out;
  for (const auto& c : collections_) out.push_back(c.info);
  return out;
}

Result<std::optional<CollectionInfo>> PersistStore::find_collection(const std::string& name) {
  for (const auto& c : collections_) {
    if (c.info.name == name) return std::optional<CollectionInfo>(c.info);
  }
  return std::optional<CollectionInfo>{};
}

Status PersistStore::refuse_write(const char* what) const {
  return make_error(ErrorCode::kInvalidArgument,
                    std::string(what) + " refused: " + describe() +
                        " is a Chroma persist directory, read offline and never written");
}

Result<CollectionInfo> PersistStore::create_collection(const CollectionSpec&) {
  return std::unexpected(refuse_write("create_collection").error());
}
Status PersistStore::delete_collection(const std::string&) {
  return refuse_write("delete_collection");
}
Status PersistStore::update_collection_metadata(const CollectionInfo&, const Metadata&) {
  return refuse_write("update_collection_metadata");
}
Status PersistStore::rename_collection(const CollectionInfo&, const std::string&) {
  return refuse_write("rename_collection");
}
Status PersistStore::upsert(const CollectionInfo&, std::span<const Record>) {
  return refuse_write("upsert");
}
Status PersistStore::remove_metadata_keys(const CollectionInfo&,
                                          std::span<const MetadataKeyRemoval>) {
  return refuse_write("remove_metadata_keys");
}
Status PersistStore::delete_records(const CollectionInfo&, std::span<const std::string>) {
  return refuse_write("delete_records");
}

Result<std::uint64_t> PersistStore::count(const CollectionInfo& collection) {
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(State * state, state_locked(collection));
  return state->records->count();
}

Result<std::vector<std::string>> PersistStore::list_ids(const CollectionInfo& collection,
                                                        std::uint64_t offset, std::uint32_t limit) {
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(State * state, state_locked(collection));
  return state->records->list_ids(db_, offset, limit);
}

Result<SqliteDb> PersistStore::take_reader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      SqliteDb db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return db;
    }
  }
  return SqliteDb::open(files_.copy->database());
}

void PersistStore::give_back_reader(SqliteDb db) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(db));
}

Result<std::vector<Record>> PersistStore::get_records(const CollectionInfo& collection,
                                                      std::span<const std::string> ids) {
  State* state = nullptr;
  {
    // A state never changes once built and is never moved (std::map of unique_ptr), so it is
    // read below without the lock.
    std::lock_guard lock(mu_);
    CM_ASSIGN_OR_RETURN(state, state_locked(collection));
  }
  CM_ASSIGN_OR_RETURN(SqliteDb db, take_reader());
  auto records = fetch_records(*state, db, ids);
  give_back_reader(std::move(db));
  return records;
}

Result<std::vector<Record>> PersistStore::fetch_records(const State& state, const SqliteDb& db,
                                                        std::span<const std::string> ids) const {
  CM_ASSIGN_OR_RETURN(std::vector<Record> records, state.records->fetch(db, ids));
  std::vector<std::size_t> from_segment;  // records whose vector is in the segment, and where
  std::vector<std::uint64_t> slots;
  const VectorView& vectors = *state.vectors;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto where = vectors.locate(records[i].id);
    if (where.kind == VectorView::Location::Kind::kSegment) {
      from_segment.push_back(i);
      slots.push_back(where.slot);
      continue;
    }
    if (where.kind == VectorView::Location::Kind::kQueue) {
      CM_ASSIGN_OR_RETURN(QueueRow row, read_queue_row(db, where.queue_seq, true,
                                                       state.collection->info.dimension));
      if (row.vector) {
        records[i].embedding = std::move(*row.vector);
        continue;
      }
    }
    return no_vector_error(state, records[i].id);
  }
  if (slots.empty()) return records;
  auto read = vectors.segment()->read_vectors(slots);
  if (!read) {  // rare: read one by one to name the record whose vector fails
    for (std::size_t k = 0; k < from_segment.size(); ++k) {
      auto v = vectors.segment()->read_vector(slots[k]);
      if (!v) {
        return std::unexpected(
            std::move(v).error().with_context("record '" + records[from_segment[k]].id + "'"));
      }
    }
    return std::unexpected(std::move(read).error());
  }
  for (std::size_t k = 0; k < from_segment.size(); ++k) {
    records[from_segment[k]].embedding = std::move((*read)[k]);
  }
  return records;
}

}  // namespace cm
