#include "tests/support/store_state.hpp"

#include "common/store/collection_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/store/embedding_compare.hpp"

namespace cm::testing {

Result<StoreState> capture_state(VectorStore& store, const std::vector<std::string>& names) {
  CM_ASSIGN_OR_RETURN(auto collections, store.list_collections());
  StoreState state;
  for (const auto& info : collections) {
    if (!names.empty() && std::find(names.begin(), names.end(), info.name) == names.end()) continue;
    CollectionState c;
    c.info = info;
    CM_ASSIGN_OR_RETURN(c.count, store.count(info));
    std::vector<std::string> ids;
    for (std::uint64_t offset = 0;; offset += 1000) {
      CM_ASSIGN_OR_RETURN(auto page, store.list_ids(info, offset, 1000));
      ids.insert(ids.end(), page.begin(), page.end());
      if (page.size() < 1000) break;
    }
    for (std::size_t at = 0; at < ids.size(); at += 500) {
      std::span<const std::string> slice(ids.data() + at,
                                         std::min<std::size_t>(500, ids.size() - at));
      CM_ASSIGN_OR_RETURN(auto records, store.get_records(info, slice));
      for (auto& r : records) c.records.push_back(std::move(r));
    }
    std::sort(c.records.begin(), c.records.end(),
              [](const Record& a, const Record& b) { return a.id < b.id; });
    state[info.name] = std::move(c);
  }
  return state;
}

namespace {

// Equal under the collection's embedding rule (common/store/embedding_compare.hpp), everything else
// exact.
bool same_record(const std::string& space, const Record& a, const Record& b) {
  return a.id == b.id && a.document == b.document && a.metadata == b.metadata && a.uri == b.uri &&
         compare_embeddings(space, a.embedding, b.embedding).equivalent;
}

std::string describe_record_difference(const std::string& space, const Record& a, const Record& b) {
  if (!compare_embeddings(space, a.embedding, b.embedding).equivalent) {
    if (a.embedding.size() != b.embedding.size()) {
      return fmt::format("dimension {} vs {}", a.embedding.size(), b.embedding.size());
    }
    for (std::size_t i = 0; i < a.embedding.size(); ++i) {
      if (a.embedding[i] != b.embedding[i]) {
        return fmt::format("embedding[{}] {:.9g} vs {:.9g}", i, a.embedding[i], b.embedding[i]);
      }
    }
  }
  if (a.document != b.document) {
    return fmt::format("document {} vs {}",
                       a.document ? "\"" + a.document->substr(0, 40) + "\"" : "null",
                       b.document ? "\"" + b.document->substr(0, 40) + "\"" : "null");
  }
  if (a.uri != b.uri) {
    return fmt::format("uri {} vs {}", a.uri ? "\"" + a.uri->substr(0, 60) + "\"" : "null",
                       b.uri ? "\"" + b.uri->substr(0, 60) + "\"" : "null");
  }
  return "metadata " + metadata_to_json(a.metadata).dump() + " vs " +
         metadata_to_json(b.metadata).dump();
}

}  // namespace

std::vector<std::string> diff_states(const StoreState& expected, const StoreState& actual,
                                     bool ignore_ledger_keys) {
  std::vector<std::string> out;
  for (const auto& [name, e] : expected) {
    auto it = actual.find(name);
    if (it == actual.end()) {
      out.push_back("missing collection " + name);
      continue;
    }
    const auto& a = it->second;
    if (!(e.info.hnsw == a.info.hnsw)) {
      out.push_back(name + ": hnsw " + hnsw_to_json(e.info.hnsw).dump() + " vs " +
                    hnsw_to_json(a.info.hnsw).dump());
    }
    // hnsw is compared above from info.hnsw (where a mapping's settings land); the rest of the
    // configuration (embedding_function, spann, unknown keys) here.
    nlohmann::json planned =
        e.info.configuration.is_object() ? e.info.configuration : nlohmann::json::object();
    planned["hnsw"] = hnsw_to_json(e.info.hnsw);
    for (const auto& difference : configuration_differences(planned, a.info.configuration)) {
      out.push_back(name + ": configuration " + difference);
    }
    // The run ledger (migration_* keys) is the one thing a run adds to a target collection.
    Metadata expected_metadata = e.info.metadata, actual_metadata = a.info.metadata;
    if (ignore_ledger_keys) {
      for (Metadata* m : {&expected_metadata, &actual_metadata})
        std::erase_if(*m, [](const auto& kv) { return kv.first.starts_with("migration_"); });
    }
    if (expected_metadata != actual_metadata) {
      out.push_back(name + ": collection metadata " + metadata_to_json(e.info.metadata).dump() +
                    " vs " + metadata_to_json(a.info.metadata).dump());
    }
    if (e.count != a.count)
      out.push_back(fmt::format("{}: count {} vs {}", name, e.count, a.count));
    if (e.records.size() != a.records.size()) {
      out.push_back(fmt::format("{}: {} records vs {}", name, e.records.size(), a.records.size()));
    }
    int shown = 0;
    for (std::size_t i = 0; i < std::min(e.records.size(), a.records.size()) && shown < 5; ++i) {
      if (same_record(e.info.hnsw.space, e.records[i], a.records[i])) continue;
      ++shown;
      out.push_back(
          name + ": record " + e.records[i].id +
          (e.records[i].id != a.records[i].id
               ? " vs id " + a.records[i].id
               : ": " + describe_record_difference(e.info.hnsw.space, e.records[i], a.records[i])));
    }
  }
  for (const auto& [name, a] : actual) {
    if (!expected.contains(name)) out.push_back("unexpected collection " + name);
  }
  return out;
}

std::string diff_text(const StoreState& expected, const StoreState& actual,
                      bool ignore_ledger_keys) {
  std::string out;
  for (const auto& line : diff_states(expected, actual, ignore_ledger_keys)) out += line + "\n";
  return out;
}

}  // namespace cm::testing
