#include "tests/integration/persist_fixture.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <set>

#include "common/chroma/http_client.hpp"
#include "tools/corpus.hpp"

namespace cm::testing {
namespace {

constexpr std::size_t kBatch = 500;

template <typename Float, typename Int>
std::uint64_t ulps(Float a, Float b) {
  if (a == b) return 0;
  if (std::isnan(a) || std::isnan(b) || std::signbit(a) != std::signbit(b)) return ~0ull;
  const auto ia = std::bit_cast<Int>(a), ib = std::bit_cast<Int>(b);
  return static_cast<std::uint64_t>(ia > ib ? ia - ib : ib - ia);
}

MetaValue changed(const MetaValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s + " (v2)";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i + 1;
  if (const auto* d = std::get_if<double>(&v)) return *d * 2 + 0.5;
  return !std::get<bool>(v);
}

void expect_same_metadata(const std::string& where, const Metadata& want, const Metadata& got,
                          int float_ulps) {
  if (want == got) return;
  ASSERT_EQ(want.size(), got.size()) << where;
  for (const auto& [key, value] : want) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << where << " lacks " << key;
    const auto* a = std::get_if<double>(&value);
    const auto* b = std::get_if<double>(&it->second);
    if (a && b) {
      EXPECT_LE((ulps<double, std::int64_t>(*a, *b)), static_cast<std::uint64_t>(float_ulps))
          << where << " " << key << ": " << *a << " vs " << *b;
    } else {
      EXPECT_EQ(value, it->second) << where << " " << key;
    }
  }
}

}  // namespace

Contents write_corpus(VectorStore& store, std::size_t records, int dimension,
                      const std::string& prefix) {
  corpus::CorpusOptions o;
  o.total_records = records;
  o.dimension = dimension;
  o.prefix = prefix;
  Contents model;
  auto specs = corpus::collection_specs(o);
  for (std::size_t c = 0; c < specs.size(); ++c) {
    auto info = store.create_collection(specs[c]);
    EXPECT_TRUE(info) << info.error().message;
    if (!info) return model;
    auto& m = model[specs[c].name];
    const std::size_t n = corpus::records_in(o, c);
    for (std::size_t start = 0; start < n; start += kBatch) {
      std::vector<Record> batch;
      for (std::size_t i = start; i < std::min(n, start + kBatch); ++i) {
        Record r = corpus::make_record(o, c, i);
        if (i % 3 == 0) r.uri = "https://docs.example/" + r.id;
        if (i % 30 == 1) r.uri = "";
        m[r.id] = r;
        batch.push_back(std::move(r));
      }
      auto status = store.upsert(*info, batch);
      EXPECT_TRUE(status) << status.error().message;
    }
  }
  return model;
}

namespace {

constexpr const char* kSyllables[] = {"ka",  "lo", "mir", "ste", "an",  "vel", "dor", "qui",
                                      "tha", "ne", "zo",  "ur",  "bel", "fi",  "gra", "sen"};
constexpr const char* kGlossWords[] = {
    "a",      "the",    "of",        "small",   "large",    "device",  "used",  "for",
    "person", "who",    "moves",     "quickly", "relating", "to",      "water", "an",
    "act",    "making", "something", "state",   "being",    "without", "light", "sound"};
constexpr const char* kLexnames[] = {"noun.artifact", "noun.person", "verb.motion",
                                     "adj.all",       "noun.state",  "verb.communication"};
constexpr const char* kPos[] = {"n", "v", "a", "r"};

std::string lemma_of(std::size_t word) {
  std::string out;
  for (std::size_t w = word + 17; out.size() < 4 || w > 0; w /= std::size(kSyllables)) {
    out += kSyllables[w % std::size(kSyllables)];
  }
  return out;
}

Record lexicon_record(std::size_t i, int dimension, std::mt19937& rng) {
  const std::size_t word = i / 3;  // about three senses per word
  const int sense = static_cast<int>(i % 3) + 1;
  const std::string lemma = lemma_of(word);
  const std::string pos = kPos[word % std::size(kPos)];
  std::uniform_int_distribution<std::size_t> pick(0, std::size(kGlossWords) - 1);
  std::string gloss;
  for (int w = 0; w < 6 + static_cast<int>(i % 9); ++w) {
    gloss += (w ? " " : "") + std::string(kGlossWords[pick(rng)]);
  }
  Record r;
  r.id = lemma + "." + pos + "." + std::to_string(sense);
  r.document = lemma + " (" + pos + "): " + gloss + "; synonyms: " + lemma_of(word + 1) + ", " +
               lemma_of(word + 7);
  r.metadata = {{"lemma", lemma},
                {"pos", pos},
                {"sense", static_cast<std::int64_t>(sense)},
                {"lexname", std::string(kLexnames[i % std::size(kLexnames)])},
                {"frequency", 1.0 / static_cast<double>(i + 3)},
                {"polysemous", sense > 1 || i % 3 != 2}};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  r.embedding.resize(static_cast<std::size_t>(dimension));
  for (auto& x : r.embedding) x = normal(rng);
  return r;
}

}  // namespace

std::map<std::string, Record> write_lexicon(VectorStore& store, const std::string& name,
                                            const std::string& space, int dimension,
                                            std::size_t n) {
  std::map<std::string, Record> model;
  CollectionSpec spec;
  spec.name = name;
  spec.hnsw.space = space;
  spec.metadata = {{"source", std::string("wordnet-like lexicon")}};
  auto info = store.create_collection(spec);
  EXPECT_TRUE(info) << info.error().message;
  if (!info) return model;
  std::mt19937 rng(static_cast<std::uint32_t>(dimension * 31 + n));
  for (std::size_t start = 0; start < n; start += kBatch) {
    std::vector<Record> batch;
    for (std::size_t i = start; i < std::min(n, start + kBatch); ++i) {
      Record r = lexicon_record(i, dimension, rng);
      model[r.id] = r;
      batch.push_back(std::move(r));
    }
    auto status = store.upsert(*info, batch);
    EXPECT_TRUE(status) << status.error().message;
  }
  EXPECT_EQ(model.size(), n) << "lexicon ids must be unique";
  return model;
}

void change_records(VectorStore& store, Contents& model, std::size_t n) {
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& [name, records] : model) {
    auto info = store.find_collection(name);
    ASSERT_TRUE(info && *info);
    std::vector<std::string> ids;
    for (const auto& [id, r] : records) ids.push_back(id);
    std::shuffle(ids.begin(), ids.end(), rng);
    ASSERT_GE(ids.size(), 3 * n);
    std::vector<Record> upserts;
    for (std::size_t i = 0; i < n; ++i) {
      Record r = records.at(ids[i]);
      for (auto& x : r.embedding) x = normal(rng);
      for (auto& [key, value] : r.metadata) value = changed(value);
      r.document = "updated " + r.id;
      records[r.id] = r;
      upserts.push_back(std::move(r));
    }
    ASSERT_TRUE(store.upsert(**info, upserts));
    std::vector<MetadataKeyRemoval> removals;
    for (std::size_t i = n; i < 2 * n; ++i) {
      removals.push_back({ids[i], {"lang"}});
      records[ids[i]].metadata.erase("lang");
    }
    ASSERT_TRUE(store.remove_metadata_keys(**info, removals));
    std::vector<std::string> gone(ids.begin() + static_cast<long>(2 * n),
                                  ids.begin() + static_cast<long>(3 * n));
    for (const auto& id : gone) records.erase(id);
    ASSERT_TRUE(store.delete_records(**info, gone));
  }
}

Contents export_all(VectorStore& store) {
  Contents out;
  auto list = store.list_collections();
  EXPECT_TRUE(list) << list.error().message;
  if (!list) return out;
  for (const auto& c : *list) {
    auto count = store.count(c);
    EXPECT_TRUE(count) << count.error().message;
    std::vector<std::string> ids;
    for (std::uint64_t offset = 0;; offset += 700) {
      auto page = store.list_ids(c, offset, 700);
      EXPECT_TRUE(page) << page.error().message;
      if (!page) return out;
      ids.insert(ids.end(), page->begin(), page->end());
      if (page->size() < 700) break;
    }
    EXPECT_EQ(ids.size(), count ? *count : 0) << c.name;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size())
        << c.name << ": an id listed twice";
    auto& records = out[c.name];
    for (std::size_t begin = 0; begin < ids.size(); begin += kBatch) {
      std::vector<std::string> batch(
          ids.begin() + static_cast<long>(begin),
          ids.begin() + static_cast<long>(std::min(ids.size(), begin + kBatch)));
      auto got = store.get_records(c, batch);
      EXPECT_TRUE(got) << got.error().message;
      if (!got) return out;
      for (auto& r : *got) records[r.id] = std::move(r);
    }
  }
  return out;
}

std::size_t expect_same_contents(const Contents& expected, const Contents& actual,
                                 const std::map<std::string, std::string>& spaces,
                                 Tolerance tolerance) {
  std::size_t inexact = 0;
  std::vector<std::string> want_names, got_names;
  for (const auto& [name, r] : expected) want_names.push_back(name);
  for (const auto& [name, r] : actual) got_names.push_back(name);
  EXPECT_EQ(want_names, got_names);
  for (const auto& [name, want] : expected) {
    if (!actual.contains(name)) continue;
    const auto& got = actual.at(name);
    EXPECT_EQ(want.size(), got.size()) << name;
    const bool cosine = spaces.at(name) == "cosine";
    for (const auto& [id, w] : want) {
      auto it = got.find(id);
      if (it == got.end()) {
        ADD_FAILURE() << name << ": record " << id << " is missing";
        continue;
      }
      const Record& g = it->second;
      const std::string where = name + "/" + id;
      EXPECT_EQ(w.document, g.document) << where;
      EXPECT_EQ(w.uri, g.uri) << where;
      expect_same_metadata(where, w.metadata, g.metadata, tolerance.metadata_float_ulps);
      if (w.embedding.size() != g.embedding.size()) {
        ADD_FAILURE() << where << ": dimension " << g.embedding.size() << ", expected "
                      << w.embedding.size();
        continue;
      }
      if (!cosine) {
        EXPECT_EQ(w.embedding, g.embedding) << where;
        continue;
      }
      std::uint64_t worst = 0;
      for (std::size_t i = 0; i < w.embedding.size(); ++i) {
        worst = std::max(worst, ulps<float, std::int32_t>(w.embedding[i], g.embedding[i]));
      }
      EXPECT_LE(worst, static_cast<std::uint64_t>(tolerance.cosine_vector_ulps)) << where;
      if (worst > 0) ++inexact;
    }
  }
  return inexact;
}

Status add_records(const ChromaServer& server, const CollectionInfo& collection,
                   const std::vector<Record>& records, Contents& model) {
  nlohmann::json body = {{"ids", nlohmann::json::array()},
                         {"embeddings", nlohmann::json::array()},
                         {"documents", nlohmann::json::array()},
                         {"metadatas", nlohmann::json::array()},
                         {"uris", nlohmann::json::array()}};
  for (const auto& r : records) {
    body["ids"].push_back(r.id);
    auto& e = body["embeddings"].emplace_back(nlohmann::json::array());
    for (float x : r.embedding) e.push_back(static_cast<double>(x));  // exact: float -> double
    body["documents"].push_back(r.document ? nlohmann::json(*r.document) : nlohmann::json());
    body["metadatas"].push_back(r.metadata.empty() ? nlohmann::json()
                                                   : metadata_to_json(r.metadata));
    body["uris"].push_back(r.uri ? nlohmann::json(*r.uri) : nlohmann::json());
    model[collection.name][r.id] = r;
  }
  HttpClient http(server.url());
  CM_ASSIGN_OR_RETURN(auto response,
                      http.request("POST",
                                   "/api/v2/tenants/default_tenant/databases/default_database/"
                                   "collections/" +
                                       collection.id + "/add",
                                   body.dump()));
  if (response.status != 200 && response.status != 201) {
    return make_error(ErrorCode::kRejected,
                      "add: " + std::to_string(response.status) + " " + response.body);
  }
  return ok_status();
}

Status create_tenant(const ChromaServer& server, const std::string& tenant) {
  HttpClient http(server.url());
  CM_ASSIGN_OR_RETURN(auto response,
                      http.request("POST", "/api/v2/tenants", "{\"name\":\"" + tenant + "\"}"));
  if (response.status != 200) {
    return make_error(ErrorCode::kRejected, "creating tenant " + tenant + ": " + response.body);
  }
  return ok_status();
}

std::map<std::string, std::map<int, std::size_t>> queue_only_operations(
    const std::filesystem::path& persist_dir, const std::filesystem::path& scratch) {
  std::filesystem::create_directories(scratch);
  for (const char* name : {"chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-journal"}) {
    if (std::filesystem::exists(persist_dir / name)) {
      std::filesystem::copy_file(persist_dir / name, scratch / name,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
  std::map<std::string, std::map<int, std::size_t>> out;
  sqlite3* db = nullptr;
  sqlite3_open((scratch / "chroma.sqlite3").c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT c.name, q.operation, count(*) FROM embeddings_queue q "
                     "JOIN collections c ON q.topic LIKE '%/' || c.id "
                     "JOIN segments s ON s.collection = c.id AND s.scope = 'VECTOR' "
                     "LEFT JOIN max_seq_id m ON m.segment_id = s.id "
                     "WHERE q.seq_id > coalesce(m.seq_id, 0) GROUP BY 1, 2",
                     -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))][sqlite3_column_int(stmt, 1)] =
        static_cast<std::size_t>(sqlite3_column_int64(stmt, 2));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace cm::testing
