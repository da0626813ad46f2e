#include "common/run/store_factory.hpp"

#include <algorithm>
#include <cctype>

#include "common/chroma/chroma_http_store.hpp"
#include "common/persist/persist_store.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/fault_injection.hpp"
#include "common/store/throttled_store.hpp"

namespace cm {
namespace {

const char* role_name(StoreRole role) {
  switch (role) {
    case StoreRole::kSource:
      return "source";
    case StoreRole::kTarget:
      return "target";
    case StoreRole::kWork:
      return "work";
  }
  return "?";
}

Result<std::unique_ptr<VectorStore>> open_base(const StoreUri& uri, StoreRole role,
                                               const StoreOpenOptions& options,
                                               PersistStore** persist_out = nullptr) {
  if (role == StoreRole::kWork && uri.kind == StoreUri::Kind::kHttp) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a work-directory store must be a snapshot, not " + uri.redacted());
  }
  if (uri.kind == StoreUri::Kind::kPersist) {
    if (role != StoreRole::kSource) {
      return make_error(ErrorCode::kInvalidArgument,
                        uri.redacted() + " cannot be a " + role_name(role) +
                            ": a Chroma persist directory is only ever read (use it as --source; "
                            "to write one, run a Chroma server on it and give its http:// URI)");
    }
    CM_ASSIGN_OR_RETURN(
        auto persist,
        PersistStore::open(uri.persist_dir, {.tenant = uri.tenant,
                                             .database = uri.database,
                                             .scratch_parent = options.scratch_dir,
                                             .skip_unrecoverable = options.skip_unrecoverable}));
    if (persist_out) *persist_out = persist.get();
    return std::unique_ptr<VectorStore>(std::move(persist));
  }
  if (uri.kind == StoreUri::Kind::kSnapshot) {
    auto mode =
        role == StoreRole::kSource ? SnapshotStore::Mode::kRead : SnapshotStore::Mode::kWrite;
    CM_ASSIGN_OR_RETURN(auto snapshot, SnapshotStore::open(uri.snapshot_dir, mode));
    return std::unique_ptr<VectorStore>(std::move(snapshot));
  }
  ChromaHttpStoreOptions http;
  http.token = options.token;
  CM_ASSIGN_OR_RETURN(auto store, ChromaHttpStore::open(uri, http));
  // A target may name a database that does not exist yet; creating an empty one is idempotent.
  if (role == StoreRole::kTarget && !options.dry_run &&
      (uri.tenant != "default_tenant" || uri.database != "default_database")) {
    CM_RETURN_IF_ERROR(store->ensure_database());
  }
  return std::unique_ptr<VectorStore>(std::move(store));
}

// The decorators, innermost first (see the header).
Result<std::unique_ptr<VectorStore>> decorate(std::unique_ptr<VectorStore> store, StoreRole role,
                                              const StoreOpenOptions& options) {
  if (!options.fault_spec.empty()) {
    CM_ASSIGN_OR_RETURN(auto rules, parse_fault_spec(options.fault_spec));
    std::erase_if(rules, [&](const FaultRule& r) { return r.role != role_name(role); });
    if (!rules.empty())
      store = std::make_unique<FaultInjectingStore>(std::move(store), std::move(rules));
  }
  if (role == StoreRole::kSource && options.max_records_per_second > 0) {
    store = std::make_unique<ThrottledStore>(std::move(store), options.max_records_per_second);
  }
  store = std::make_unique<RetryingStore>(std::move(store), options.retry, options.counters);
  if (role == StoreRole::kTarget && options.audit) {
    store = std::make_unique<AuditingStore>(std::move(store), options.audit);
  }
  store = std::make_unique<LoggingStore>(std::move(store), role_name(role));
  if (role == StoreRole::kSource || (role == StoreRole::kTarget && options.dry_run))
    store = std::make_unique<ReadOnlyStore>(std::move(store));
  return store;
}

bool is_http(const StoreUri* uri) {
  return uri && uri->kind == StoreUri::Kind::kHttp;
}

}  // namespace

std::string store_origin(const StoreUri& uri) {
  if (uri.kind != StoreUri::Kind::kHttp) return "";
  std::string url = uri.base_url;
  std::transform(url.begin(), url.end(), url.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "http" : url.substr(0, scheme_end);
  std::string rest = scheme_end == std::string::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  // host[:port], host may be a bracketed IPv6 literal.
  const auto bracket = rest.rfind(']');
  const auto colon = rest.rfind(':');
  const bool has_port =
      colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  const std::string host = has_port ? rest.substr(0, colon) : rest;
  std::string port = has_port ? rest.substr(colon + 1) : "";
  if (port.empty()) port = scheme == "https" ? "443" : "80";
  return scheme + "://" + host + ":" + port;
}

Result<StoreTokens> resolve_store_tokens(const StoreTokens& env, const StoreUri* source,
                                         const StoreUri* target) {
  StoreTokens out;
  if (is_http(source)) out.source = env.source;
  if (is_http(target)) out.target = env.target;
  if (!env.shared) return out;
  const bool two_servers =
      is_http(source) && is_http(target) && store_origin(*source) != store_origin(*target);
  if (two_servers) {
    if (env.source && env.target) return out;  // each has its own; CHROMA_TOKEN goes nowhere
    std::string missing = env.source   ? "CHROMA_TARGET_TOKEN"
                          : env.target ? "CHROMA_SOURCE_TOKEN"
                                       : "CHROMA_SOURCE_TOKEN and CHROMA_TARGET_TOKEN";
    return make_error(
        ErrorCode::kInvalidArgument,
        "CHROMA_TOKEN is set, but the source (" + store_origin(*source) + ") and the target (" +
            store_origin(*target) +
            ") are different servers and one token is never sent to both; nothing was "
            "contacted. Set " +
            missing +
            " (each is sent only to its own store) and unset CHROMA_TOKEN, or leave a store's "
            "variable unset if that store needs no token");
  }
  if (is_http(source) && !out.source) out.source = env.shared;
  if (is_http(target) && !out.target) out.target = env.shared;
  return out;
}

Result<std::unique_ptr<VectorStore>> open_store(const StoreUri& uri, StoreRole role,
                                                const StoreOpenOptions& options) {
  CM_ASSIGN_OR_RETURN(std::unique_ptr<VectorStore> store, open_base(uri, role, options));
  return decorate(std::move(store), role, options);
}

Result<SourceStore> open_source_store(const StoreUri& uri, const StoreOpenOptions& options) {
  SourceStore out;
  CM_ASSIGN_OR_RETURN(auto base, open_base(uri, StoreRole::kSource, options, &out.persist));
  CM_ASSIGN_OR_RETURN(out.store, decorate(std::move(base), StoreRole::kSource, options));
  return out;
}

Result<WorkSnapshot> open_work_snapshot(const std::filesystem::path& dir, SnapshotStore::Mode mode,
                                        const StoreOpenOptions& options) {
  CM_ASSIGN_OR_RETURN(auto snapshot, SnapshotStore::open(dir, mode));
  WorkSnapshot out;
  out.snapshot = snapshot.get();
  CM_ASSIGN_OR_RETURN(out.store, decorate(std::unique_ptr<VectorStore>(std::move(snapshot)),
                                          StoreRole::kWork, options));
  return out;
}

}  // namespace cm
