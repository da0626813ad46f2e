// Store locations given on the command line.
//   http://host:port[/prefix][?tenant=T&database=D]   a Chroma server (https:// likewise)
//   snapshot:PATH, file://PATH or a bare path          a snapshot directory
//   (docs/snapshot-format.md)
//   persist:DIR[?tenant=T&database=D]                  a Chroma persist directory, read offline
//   (common/persist/persist_store.hpp; a source only)
// Credentials never appear in what `redacted()` returns; tokens come from CHROMA_SOURCE_TOKEN,
// CHROMA_TARGET_TOKEN or CHROMA_TOKEN (resolve_store_tokens, common/run/store_factory.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/base/error.hpp"

namespace cm {

struct StoreUri {
  enum class Kind { kHttp, kSnapshot, kPersist };
  Kind kind = Kind::kHttp;
  std::string base_url;  // scheme://[user:pass@]host[:port][/prefix], no trailing slash
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  std::filesystem::path snapshot_dir;
  std::filesystem::path persist_dir;  // kPersist: the directory `chroma run --path` was given

  // The location with any user:password and token-like query values replaced by "***".
  std::string redacted() const;
};

Result<StoreUri> parse_store_uri(std::string_view text);

// The store a later step of a run works on: `given` (the flag's value) when set, else the
// description run.json recorded (`recorded`, as VectorStore::describe() printed it). A recorded
// description that was redacted has lost its credentials: the error asks for `flag` instead.
Result<StoreUri> recorded_store_uri(const std::string& given, const std::string& recorded,
                                    const std::string& flag);

}  // namespace cm
