// VectorStore over a Chroma server's HTTP API v2 (Chroma 0.5.16+ and 1.x).
//
// Errors (one mapping for every call, see map_status in the .cpp):
//  - no answer at all (refused, reset, timeout, DNS): kTransient, from HttpClient;
//  - HTTP 429 and 5xx: kTransient, message "server answered 503: <server message>";
//  - other 4xx: kRejected with http_status set, message "server answered 400: <error>: <message>";
//  - a 2xx body that does not parse: kProtocol.
// Per-call exceptions to that mapping: find_collection turns 404 into nullopt; create_collection
// turns 409 (Chroma 1.0.x answers `409 {"error":"ChromaError","message":"Collection [x] already
// exists"}`) or any error saying "already exists" into kAlreadyExists; delete_collection turns
// 404 into kNotFound.
//
// Upserts, gets and deletes that the server refuses as too large (413, a quota such as Chroma
// Cloud's 300 records per request) are split and sent again (common/chroma/request_split.hpp).
//
// Requests that would be no-ops (get/upsert/delete of zero ids) are not sent: Chroma's delete
// with an empty id list and no filter is not a no-op on every version.
//
// Thread-safe: all methods may be called concurrently (HttpClient pools connections).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/chroma/http_client.hpp"
#include "common/chroma/request_split.hpp"
#include "common/store/uri.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

struct ChromaHttpStoreOptions {
  // When set, sent as both "X-Chroma-Token: T" and "Authorization: Bearer T" (Python servers
  // accept either, depending on their auth provider configuration).
  std::optional<std::string> token;
  long connect_timeout_ms = 5000;
  long request_timeout_ms = 120000;
  // The largest request body sent: a larger upsert is split before sending (the Rust server's
  // default `max_payload_size_bytes`, 40 MiB; a bigger body gets 413 there anyway).
  std::size_t max_request_bytes = 41'943'040;
};

class ChromaHttpStore : public VectorStore {
 public:
  // kInvalidArgument when `uri` is not an http(s) store or the token holds control characters.
  // Does not contact the server.
  static Result<std::unique_ptr<ChromaHttpStore>> open(const StoreUri& uri,
                                                       ChromaHttpStoreOptions options = {});

  std::string describe() const override { return uri_.redacted(); }
  // GET /api/v2/pre-flight-checks, cached after the first success.
  Result<StoreLimits> limits() override;

  Result<std::vector<CollectionInfo>> list_collections() override;
  Result<std::optional<CollectionInfo>> find_collection(const std::string& name) override;
  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  // PUT /collections/{id} {new_metadata}: Chroma replaces the metadata wholesale.
  Status update_collection_metadata(const CollectionInfo& collection,
                                    const Metadata& metadata) override;
  Status rename_collection(const CollectionInfo& collection, const std::string& new_name) override;

  Result<std::uint64_t> count(const CollectionInfo& collection) override;
  Result<std::vector<std::string>> list_ids(const CollectionInfo& collection, std::uint64_t offset,
                                            std::uint32_t limit) override;
  Result<std::vector<Record>> get_records(const CollectionInfo& collection,
                                          std::span<const std::string> ids) override;
  // Sends base64 embeddings when limits() says the server supports them, decimal floats otherwise.
  Status upsert(const CollectionInfo& collection, std::span<const Record> records) override;
  // POST /collections/{id}/update {ids, metadatas: [{key: null}]}. Records without keys to remove
  // are left out; nothing is sent when none remain.
  Status remove_metadata_keys(const CollectionInfo& collection,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& collection,
                        std::span<const std::string> ids) override;
  // POST /collections/{id}/query with include ["distances"], kQueryBatch embeddings per request
  // (a 384-dim query is ~5 KB of JSON). k = 0 or no embeddings: nothing is sent.
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& collection,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;
  static constexpr std::size_t kQueryBatch = 64;

  // The most records one upsert request carries now: SIZE_MAX until the server (or the body
  // limit) refused a larger one (request_split.hpp).
  std::size_t upsert_request_cap() const { return upsert_split_.cap(); }

  // Creates the URI's database inside its tenant when missing (a target-side step; sources must
  // not create anything). An existing database is fine, including one created concurrently.
  Status ensure_database();

 private:
  ChromaHttpStore(StoreUri uri, ChromaHttpStoreOptions options);

  // The method, sent path and the answer mapped per the contract above; `ok` holds the body.
  Result<std::string> call(std::string_view method, const std::string& path,
                           std::string_view body = {});
  std::string collections_path() const;
  std::string collection_path(const CollectionInfo& collection, std::string_view action) const;

  StoreUri uri_;
  HttpClient http_;
  std::size_t max_request_bytes_;
  std::mutex limits_mutex_;
  std::optional<StoreLimits> limits_;
  RequestSplitter upsert_split_{"upsert"};
  RequestSplitter get_split_{"get"};
  RequestSplitter delete_split_{"delete"};
};

// Percent-encodes everything but RFC 3986 unreserved characters, for one path segment.
std::string url_encode_segment(std::string_view segment);

}  // namespace cm
