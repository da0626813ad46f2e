#include "common/chroma/chroma_http_store.hpp"

#include <algorithm>
#include <iterator>

#include "common/chroma/chroma_wire.hpp"

namespace cm {
namespace {

// list_collections page size: small enough for Chroma Cloud's limits, large enough that a few
// hundred collections take a handful of requests.
constexpr std::uint32_t kCollectionPageSize = 100;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The one place where HTTP statuses become error codes (see the header's contract).
Result<std::string> map_status(const std::string& what, HttpResponse response) {
  const long s = response.status;
  if (s >= 200 && s < 300) return std::move(response.body);
  const std::string message =
      what + ": server answered " + std::to_string(s) + ": " + server_error_message(response.body);
  const int status = static_cast<int>(s);
  if (s == 429 || s >= 500) return make_error(ErrorCode::kTransient, message, status);
  if (s >= 400) return make_error(ErrorCode::kRejected, message, status);
  // 1xx/3xx: redirects are not followed (a redirected POST would silently lose its body).
  return make_error(ErrorCode::kProtocol, message, status);
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

std::string url_encode_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char ch : segment) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::unique_ptr<ChromaHttpStore>> ChromaHttpStore::open(const StoreUri& uri,
                                                               ChromaHttpStoreOptions options) {
  if (uri.kind != StoreUri::Kind::kHttp) {
    return make_error(ErrorCode::kInvalidArgument, "not a Chroma server URI: " + uri.redacted());
  }
  if (options.token && has_control_chars(*options.token)) {
    return make_error(ErrorCode::kInvalidArgument, "the Chroma token contains control characters");
  }
  return std::unique_ptr<ChromaHttpStore>(new ChromaHttpStore(uri, std::move(options)));
}

namespace {
HttpClientOptions client_options(const ChromaHttpStoreOptions& options) {
  HttpClientOptions out;
  out.connect_timeout_ms = options.connect_timeout_ms;
  out.request_timeout_ms = options.request_timeout_ms;
  if (options.token && !options.token->empty()) {
    out.headers.push_back("X-Chroma-Token: " + *options.token);
    out.headers.push_back("Authorization: Bearer " + *options.token);
  }
  return out;
}
}  // namespace

ChromaHttpStore::ChromaHttpStore(StoreUri uri, ChromaHttpStoreOptions options)
    : uri_(std::move(uri)),
      http_(uri_.base_url, client_options(options)),
      max_request_bytes_(options.max_request_bytes) {}

Result<std::string> ChromaHttpStore::call(std::string_view method, const std::string& path,
                                          std::string_view body) {
  CM_ASSIGN_OR_RETURN(HttpResponse response, http_.request(method, path, body));
  return map_status(std::string(method) + " " + http_.redacted_base_url() + path,
                    std::move(response));
}

std::string ChromaHttpStore::collections_path() const {
  return "/api/v2/tenants/" + url_encode_segment(uri_.tenant) + "/databases/" +
         url_encode_segment(uri_.database) + "/collections";
}

std::string ChromaHttpStore::collection_path(const CollectionInfo& collection,
                                             std::string_view action) const {
  return collections_path() + "/" + url_encode_segment(collection.id) + "/" + std::string(action);
}

Result<StoreLimits> ChromaHttpStore::limits() {
  {
    std::lock_guard lock(limits_mutex_);
    if (limits_) return *limits_;
  }
  // Not holding the lock over the request: concurrent first callers may both ask; harmless.
  CM_ASSIGN_OR_RETURN(std::string body, call("GET", "/api/v2/pre-flight-checks"));
  CM_ASSIGN_OR_RETURN(StoreLimits limits, parse_preflight(body));
  std::lock_guard lock(limits_mutex_);
  limits_ = limits;
  return limits;
}

Result<std::vector<CollectionInfo>> ChromaHttpStore::list_collections() {
  std::vector<CollectionInfo> all;
  for (std::uint64_t offset = 0;; offset += kCollectionPageSize) {
    std::string path = collections_path() + "?limit=" + std::to_string(kCollectionPageSize) +
                       "&offset=" + std::to_string(offset);
    CM_ASSIGN_OR_RETURN(std::string body, call("GET", path));
    CM_ASSIGN_OR_RETURN(std::vector<CollectionInfo> page, parse_collection_list(body));
    const std::size_t n = page.size();
    std::move(page.begin(), page.end(), std::back_inserter(all));
    if (n < kCollectionPageSize) break;
  }
  return all;
}

Result<std::optional<CollectionInfo>> ChromaHttpStore::find_collection(const std::string& name) {
  const std::string path = collections_path() + "/" + url_encode_segment(name);
  CM_ASSIGN_OR_RETURN(HttpResponse response, http_.request("GET", path));
  // 404 is 1.x's answer; older Python servers answered 4xx with "does not exist" in the text.
  if (response.status == 404 ||
      (response.status >= 400 && response.status < 500 && response.status != 429 &&
       contains(server_error_message(response.body), "does not exist"))) {
    return std::optional<CollectionInfo>();
  }
  CM_ASSIGN_OR_RETURN(std::string body,
                      map_status("GET " + http_.redacted_base_url() + path, std::move(response)));
  CM_ASSIGN_OR_RETURN(CollectionInfo info, parse_collection_body(body));
  return std::optional<CollectionInfo>(std::move(info));
}

Result<CollectionInfo> ChromaHttpStore::create_collection(const CollectionSpec& spec) {
  auto body = call("POST", collections_path(), encode_create_collection_body(spec));
  if (!body) {
    Error& e = body.error();
    if (e.http_status == 409 ||
        (e.code == ErrorCode::kRejected && contains(e.message, "already exists"))) {
      e.code = ErrorCode::kAlreadyExists;
    }
    return std::unexpected(std::move(e));
  }
  return parse_collection_body(*body);
}

Status ChromaHttpStore::delete_collection(const std::string& name) {
  auto body = call("DELETE", collections_path() + "/" + url_encode_segment(name));
  if (!body) {
    Error& e = body.error();
    if (e.http_status == 404) e.code = ErrorCode::kNotFound;
    return std::unexpected(std::move(e));
  }
  return ok_status();
}

Status ChromaHttpStore::update_collection_metadata(const CollectionInfo& collection,
                                                   const Metadata& metadata) {
  std::string body = "{\"new_metadata\":";
  append_metadata_json(metadata, &body);
  body += "}";
  CM_RETURN_IF_ERROR(
      call("PUT", collections_path() + "/" + url_encode_segment(collection.id), body));
  return ok_status();
}

Status ChromaHttpStore::rename_collection(const CollectionInfo& collection,
                                          const std::string& new_name) {
  if (auto why = invalid_collection_name_reason(new_name)) {
    return make_error(ErrorCode::kInvalidArgument, "cannot rename collection \"" + collection.name +
                                                       "\" to \"" + new_name + "\": " + *why);
  }
  std::string body = "{\"new_name\":";
  append_json_string(new_name, &body);
  body += "}";
  auto reply = call("PUT", collections_path() + "/" + url_encode_segment(collection.id), body);
  if (!reply) {
    Error& e = reply.error();
    // Chroma 1.0 answers a taken name with 500 and SQLite's UNIQUE constraint message.
    if (e.http_status == 409 || contains(e.message, "UNIQUE constraint") ||
        (e.code == ErrorCode::kRejected && contains(e.message, "exists")))
      e.code = ErrorCode::kAlreadyExists;
    else if (e.http_status == 404)
      e.code = ErrorCode::kNotFound;
    return std::unexpected(std::move(e));
  }
  return ok_status();
}

Result<std::uint64_t> ChromaHttpStore::count(const CollectionInfo& collection) {
  CM_ASSIGN_OR_RETURN(std::string body, call("GET", collection_path(collection, "count")));
  return parse_count(body);
}

Result<std::vector<std::string>> ChromaHttpStore::list_ids(const CollectionInfo& collection,
                                                           std::uint64_t offset,
                                                           std::uint32_t limit) {
  if (limit == 0) return std::vector<std::string>();
  CM_ASSIGN_OR_RETURN(std::string body, call("POST", collection_path(collection, "get"),
                                             encode_list_ids_body(offset, limit)));
  return parse_get_ids(body);
}

Result<std::vector<Record>> ChromaHttpStore::get_records(const CollectionInfo& collection,
                                                         std::span<const std::string> ids) {
  std::vector<Record> out;
  CM_RETURN_IF_ERROR(get_split_.run(ids.size(), [&](std::size_t begin, std::size_t end) -> Status {
    CM_ASSIGN_OR_RETURN(std::string body,
                        call("POST", collection_path(collection, "get"),
                             encode_get_by_ids_body(ids.subspan(begin, end - begin))));
    CM_ASSIGN_OR_RETURN(auto part, parse_get_records(body));
    out.insert(out.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
    return ok_status();
  }));
  return out;
}

Status ChromaHttpStore::upsert(const CollectionInfo& collection, std::span<const Record> records) {
  if (records.empty()) return ok_status();
  CM_ASSIGN_OR_RETURN(StoreLimits lim, limits());
  return upsert_split_.run(records.size(), [&](std::size_t begin, std::size_t end) -> Status {
    const std::string body =
        encode_upsert_body(records.subspan(begin, end - begin), lim.supports_base64);
    if (body.size() > max_request_bytes_ && end - begin > 1) {
      return make_error(ErrorCode::kRejected,
                        "a body of " + std::to_string(body.size()) +
                            " bytes is over the request limit of " +
                            std::to_string(max_request_bytes_) + " bytes (not sent)",
                        413);
    }
    CM_RETURN_IF_ERROR(call("POST", collection_path(collection, "upsert"), body));
    return ok_status();
  });
}

Status ChromaHttpStore::remove_metadata_keys(const CollectionInfo& collection,
                                             std::span<const MetadataKeyRemoval> removals) {
  std::vector<MetadataKeyRemoval> some;
  for (const auto& r : removals)
    if (!r.keys.empty()) some.push_back(r);
  if (some.empty()) return ok_status();
  CM_RETURN_IF_ERROR(
      call("POST", collection_path(collection, "update"), encode_remove_keys_body(some)));
  return ok_status();
}

Status ChromaHttpStore::delete_records(const CollectionInfo& collection,
                                       std::span<const std::string> ids) {
  if (ids.empty()) return ok_status();  // never send an unfiltered delete
  return delete_split_.run(ids.size(), [&](std::size_t begin, std::size_t end) -> Status {
    CM_RETURN_IF_ERROR(call("POST", collection_path(collection, "delete"),
                            encode_ids_body(ids.subspan(begin, end - begin))));
    return ok_status();
  });
}

Result<std::vector<std::vector<QueryHit>>> ChromaHttpStore::query(
    const CollectionInfo& collection, std::span<const std::vector<float>> embeddings,
    std::size_t k) {
  std::vector<std::vector<QueryHit>> out;
  out.reserve(embeddings.size());
  if (k == 0) {
    out.resize(embeddings.size());
    return out;
  }
  for (std::size_t first = 0; first < embeddings.size(); first += kQueryBatch) {
    auto batch = embeddings.subspan(first, std::min(kQueryBatch, embeddings.size() - first));
    CM_ASSIGN_OR_RETURN(std::string body, call("POST", collection_path(collection, "query"),
                                               encode_query_body(batch, k)));
    CM_ASSIGN_OR_RETURN(auto lists, parse_query_answer(body, batch.size()));
    for (auto& list : lists) {  // servers answer ascending; the contract must not depend on it
      std::stable_sort(list.begin(), list.end(), [](const QueryHit& a, const QueryHit& b) {
        return a.distance < b.distance;
      });
    }
    std::move(lists.begin(), lists.end(), std::back_inserter(out));
  }
  return out;
}

Status ChromaHttpStore::ensure_database() {
  const std::string databases = "/api/v2/tenants/" + url_encode_segment(uri_.tenant) + "/databases";
  const std::string path = databases + "/" + url_encode_segment(uri_.database);
  CM_ASSIGN_OR_RETURN(HttpResponse response, http_.request("GET", path));
  if (response.status != 404) {
    CM_RETURN_IF_ERROR(map_status("GET " + http_.redacted_base_url() + path, std::move(response)));
    return ok_status();
  }
  std::string body = "{\"name\":";
  append_json_string(uri_.database, &body);
  body.push_back('}');
  auto created = call("POST", databases, body);
  if (!created && created.error().http_status != 409) {  // 409: created meanwhile by someone else
    return std::unexpected(std::move(created).error().with_context(
        "creating database '" + uri_.database + "' in tenant '" + uri_.tenant + "'"));
  }
  return ok_status();
}

}  // namespace cm
