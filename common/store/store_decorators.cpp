#include "common/store/store_decorators.hpp"

#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/base/cancellation.hpp"

namespace cm {

RetryingStore::RetryingStore(std::unique_ptr<VectorStore> inner, RetryPolicy policy,
                             std::shared_ptr<StoreCounters> counters)
    : ForwardingStore(std::move(inner)), policy_(policy), counters_(std::move(counters)) {}

template <typename F>
auto RetryingStore::with_retry(const char* op, F&& call) -> decltype(call()) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 1;; ++attempt) {
    auto result = call();
    if (result || !is_transient(result.error()) || attempt >= policy_.max_attempts ||
        stop_requested()) {
      if (!result && is_transient(result.error()) && attempt > 1) {
        result.error().message += " (gave up after " + std::to_string(attempt) + " attempts)";
      }
      return result;
    }
    // Full jitter: a random delay in [0, min(max, base * 2^(attempt-1))] spreads workers apart.
    auto cap = std::min<std::int64_t>(policy_.max_delay.count(), policy_.base_delay.count()
                                                                     << std::min(attempt - 1, 20));
    std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(cap, 1));
    auto delay = std::chrono::milliseconds(pick(rng));
    if (counters_) ++counters_->retries;
    spdlog::warn("{} on {} failed (attempt {}/{}): {}; retrying in {} ms", op, describe(), attempt,
                 policy_.max_attempts, result.error().message, delay.count());
    std::this_thread::sleep_for(delay);
  }
}

Result<StoreLimits> RetryingStore::limits() {
  return with_retry("limits", [&] { return inner().limits(); });
}
Result<std::vector<CollectionInfo>> RetryingStore::list_collections() {
  return with_retry("list_collections", [&] { return inner().list_collections(); });
}
Result<std::optional<CollectionInfo>> RetryingStore::find_collection(const std::string& name) {
  return with_retry("find_collection", [&] { return inner().find_collection(name); });
}
Result<CollectionInfo> RetryingStore::create_collection(const CollectionSpec& spec) {
  return with_retry("create_collection", [&] { return inner().create_collection(spec); });
}
Status RetryingStore::delete_collection(const std::string& name) {
  return with_retry("delete_collection", [&] { return inner().delete_collection(name); });
}
Status RetryingStore::update_collection_metadata(const CollectionInfo& c,
                                                 const Metadata& metadata) {
  return with_retry("update_collection_metadata",
                    [&] { return inner().update_collection_metadata(c, metadata); });
}
// A retried rename whose first attempt landed fails with kNotFound/kAlreadyExists; callers that
// must know compare ids under both names (the interface says so).
Status RetryingStore::rename_collection(const CollectionInfo& c, const std::string& new_name) {
  return with_retry("rename_collection", [&] { return inner().rename_collection(c, new_name); });
}
Result<std::uint64_t> RetryingStore::count(const CollectionInfo& c) {
  return with_retry("count", [&] { return inner().count(c); });
}
Result<std::vector<std::string>> RetryingStore::list_ids(const CollectionInfo& c,
                                                         std::uint64_t offset,
                                                         std::uint32_t limit) {
  return with_retry("list_ids", [&] { return inner().list_ids(c, offset, limit); });
}
Result<std::vector<Record>> RetryingStore::get_records(const CollectionInfo& c,
                                                       std::span<const std::string> ids) {
  return with_retry("get_records", [&] { return inner().get_records(c, ids); });
}
Status RetryingStore::upsert(const CollectionInfo& c, std::span<const Record> records) {
  return with_retry("upsert", [&] { return inner().upsert(c, records); });
}
Status RetryingStore::remove_metadata_keys(const CollectionInfo& c,
                                           std::span<const MetadataKeyRemoval> removals) {
  // Idempotent: removing a key twice leaves the same record.
  return with_retry("remove_metadata_keys",
                    [&] { return inner().remove_metadata_keys(c, removals); });
}
Status RetryingStore::delete_records(const CollectionInfo& c, std::span<const std::string> ids) {
  return with_retry("delete_records", [&] { return inner().delete_records(c, ids); });
}
Result<std::vector<std::vector<QueryHit>>> RetryingStore::query(
    const CollectionInfo& c, std::span<const std::vector<float>> embeddings, std::size_t k) {
  return with_retry("query", [&] { return inner().query(c, embeddings, k); });
}

// ---- LoggingStore ----

LoggingStore::LoggingStore(std::unique_ptr<VectorStore> inner, std::string role)
    : ForwardingStore(std::move(inner)), role_(std::move(role)) {}

namespace {

template <typename F>
auto logged(const std::string& role, const char* op, const std::string& what, F&& call)
    -> decltype(call()) {
  auto start = std::chrono::steady_clock::now();
  auto result = call();
  auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (result) {
    spdlog::debug("{} {} {} ok in {:.1f} ms", role, op, what, ms);
  } else {
    spdlog::debug("{} {} {} failed in {:.1f} ms: {}", role, op, what, ms, result.error().message);
  }
  return result;
}

}  // namespace

Result<CollectionInfo> LoggingStore::create_collection(const CollectionSpec& spec) {
  return logged(role_, "create_collection", spec.name,
                [&] { return inner().create_collection(spec); });
}
Status LoggingStore::delete_collection(const std::string& name) {
  return logged(role_, "delete_collection", name, [&] { return inner().delete_collection(name); });
}
Status LoggingStore::rename_collection(const CollectionInfo& c, const std::string& new_name) {
  return logged(role_, "rename_collection", c.name + " -> " + new_name,
                [&] { return inner().rename_collection(c, new_name); });
}
Result<std::vector<std::string>> LoggingStore::list_ids(const CollectionInfo& c,
                                                        std::uint64_t offset, std::uint32_t limit) {
  return logged(role_, "list_ids", fmt::format("{} offset={} limit={}", c.name, offset, limit),
                [&] { return inner().list_ids(c, offset, limit); });
}
Result<std::vector<Record>> LoggingStore::get_records(const CollectionInfo& c,
                                                      std::span<const std::string> ids) {
  return logged(role_, "get_records", fmt::format("{} ids={}", c.name, ids.size()),
                [&] { return inner().get_records(c, ids); });
}
Status LoggingStore::upsert(const CollectionInfo& c, std::span<const Record> records) {
  return logged(role_, "upsert", fmt::format("{} records={}", c.name, records.size()),
                [&] { return inner().upsert(c, records); });
}
Status LoggingStore::remove_metadata_keys(const CollectionInfo& c,
                                          std::span<const MetadataKeyRemoval> removals) {
  return logged(role_, "remove_metadata_keys",
                fmt::format("{} records={}", c.name, removals.size()),
                [&] { return inner().remove_metadata_keys(c, removals); });
}
Status LoggingStore::delete_records(const CollectionInfo& c, std::span<const std::string> ids) {
  return logged(role_, "delete_records", fmt::format("{} ids={}", c.name, ids.size()),
                [&] { return inner().delete_records(c, ids); });
}
Result<std::vector<std::vector<QueryHit>>> LoggingStore::query(
    const CollectionInfo& c, std::span<const std::vector<float>> embeddings, std::size_t k) {
  return logged(role_, "query", fmt::format("{} queries={} k={}", c.name, embeddings.size(), k),
                [&] { return inner().query(c, embeddings, k); });
}

// ---- ReadOnlyStore ----

namespace {
std::unexpected<Error> refused(const VectorStore& store, const std::string& what) {
  return make_error(ErrorCode::kInternal,
                    "refused to " + what + " on read-only " + store.describe() +
                        ": the source is never written (this is a bug, please report it)");
}
}  // namespace

Result<CollectionInfo> ReadOnlyStore::create_collection(const CollectionSpec& spec) {
  return refused(*this, "create collection " + spec.name);
}
Status ReadOnlyStore::delete_collection(const std::string& name) {
  return refused(*this, "delete collection " + name);
}
Status ReadOnlyStore::update_collection_metadata(const CollectionInfo& c, const Metadata&) {
  return refused(*this, "update the metadata of " + c.name);
}
Status ReadOnlyStore::rename_collection(const CollectionInfo& c, const std::string& new_name) {
  return refused(*this, "rename " + c.name + " to " + new_name);
}
Status ReadOnlyStore::upsert(const CollectionInfo& c, std::span<const Record>) {
  return refused(*this, "upsert into " + c.name);
}
Status ReadOnlyStore::remove_metadata_keys(const CollectionInfo& c,
                                           std::span<const MetadataKeyRemoval>) {
  return refused(*this, "remove metadata keys in " + c.name);
}
Status ReadOnlyStore::delete_records(const CollectionInfo& c, std::span<const std::string>) {
  return refused(*this, "delete records from " + c.name);
}

}  // namespace cm
