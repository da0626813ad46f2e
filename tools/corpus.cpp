#include "tools/corpus.hpp"

#include <cmath>
#include <random>

#include <fmt/format.h>
#include <xxhash.h>

namespace cm::corpus {
namespace {

struct Layout {
  const char* name;
  const char* space;
  int ef_construction;
  int max_neighbors;
  const char* source;
};

// Four collections of an "old" knowledge base, with at least two distance spaces.
constexpr Layout kLayouts[] = {
    {"kb_articles", "cosine", 100, 16, "confluence"},
    {"support_tickets", "l2", 100, 16, "zendesk"},
    {"product_docs", "ip", 128, 16, "github"},
    {"legal_clauses", "cosine", 200, 32, "sharepoint"},
};

constexpr const char* kWords[] = {
    "migration", "vector",   "index",      "latency",   "throughput", "replica",   "tenant",
    "schema",    "rollback", "checkpoint", "embedding", "cluster",    "shard",     "backup",
    "policy",    "contract", "customer",   "invoice",   "warranty",   "liability", "release",
    "feature",   "incident", "runbook",    "search",    "ranking",    "recall",    "precision",
    "document",  "chunk",    "metadata",   "collection"};
constexpr const char* kUnicode[] = {"naïve café", "Zürich straße", "東京の倉庫",     "Ωmega ≈ π",
                                    "emoji 🚀✅",   "Ünïcødé",       "日本語テキスト", "ça marche"};
constexpr const char* kLangs[] = {"en", "de", "fr", "ja", "es"};
constexpr const char* kAuthors[] = {"alice", "bob", "chen", "dana", "émile", "farah"};
constexpr std::size_t kTopics = 24;
constexpr std::size_t kChunksPerDoc = 8;

std::mt19937_64 rng_for(std::uint64_t seed, std::size_t collection, std::size_t index,
                        std::uint64_t salt) {
  std::uint64_t key[4] = {seed, collection, index, salt};
  return std::mt19937_64(XXH3_64bits(key, sizeof key));
}

std::vector<float> topic_centroid(const CorpusOptions& o, std::size_t collection,
                                  std::size_t topic) {
  auto rng = rng_for(o.seed, collection, topic, 0xC3A7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(o.dimension));
  for (auto& x : v) x = normal(rng);
  return v;
}

std::string make_document(std::mt19937_64& rng, std::size_t topic) {
  std::uniform_int_distribution<int> kind(0, 99);
  int k = kind(rng);
  if (k == 0) return "";
  std::uniform_int_distribution<std::size_t> word(0, std::size(kWords) - 1);
  std::uniform_int_distribution<int> length(25, 90);
  std::string text = fmt::format("Topic {}: ", topic);
  int n = length(rng);
  for (int i = 0; i < n; ++i) {
    text += kWords[(i % 3 == 0) ? (topic % std::size(kWords)) : word(rng)];
    text += (i % 12 == 11) ? ". " : " ";
  }
  if (k < 8)
    text += std::string(" ") + kUnicode[static_cast<std::size_t>(k) % std::size(kUnicode)] +
            " \"quoted\"\ttab\\slash";
  return text;
}

}  // namespace

std::vector<CollectionSpec> collection_specs(const CorpusOptions& o) {
  std::vector<CollectionSpec> specs;
  for (std::size_t c = 0; c < std::min<std::size_t>(o.collections, std::size(kLayouts)); ++c) {
    const auto& l = kLayouts[c];
    CollectionSpec spec;
    spec.name = o.prefix + l.name;
    spec.hnsw.space = l.space;
    spec.hnsw.ef_construction = l.ef_construction;
    spec.hnsw.max_neighbors = l.max_neighbors;
    spec.metadata = {{"description", std::string("legacy ") + l.name + " export"},
                     {"embedding_model", std::string("all-MiniLM-L6-v2")},
                     {"schema_version", std::int64_t{1}},
                     {"owner_team", std::string(l.source)}};
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::size_t records_in(const CorpusOptions& o, std::size_t collection) {
  std::size_t n = std::min<std::size_t>(o.collections, std::size(kLayouts));
  return o.total_records / n + (collection < o.total_records % n ? 1 : 0);
}

Record make_record(const CorpusOptions& o, std::size_t collection, std::size_t index) {
  auto rng = rng_for(o.seed, collection, index, 1);
  const auto& layout = kLayouts[collection];
  const std::size_t doc = index / kChunksPerDoc, chunk = index % kChunksPerDoc;
  const std::size_t topic = XXH3_64bits(&doc, sizeof doc) % kTopics;
  Record r;
  r.id = fmt::format("{}-doc{:05}-c{:02}", layout.name, doc, chunk);

  std::normal_distribution<float> noise(0.0f, 0.35f);
  r.embedding = topic_centroid(o, collection, topic);
  double norm = 0;
  for (auto& x : r.embedding) {
    x += noise(rng);
    norm += double{x} * x;
  }
  // l2 data keeps its scale; cosine/ip collections hold unit vectors as embedding models emit.
  if (std::string(layout.space) != "l2") {
    for (auto& x : r.embedding) x = static_cast<float>(x / std::sqrt(norm));
  }

  std::uniform_int_distribution<int> pct(0, 99);
  int doc_kind = pct(rng);
  if (doc_kind != 0) r.document = make_document(rng, topic);  // ~1% null documents
  if (pct(rng) == 0) return r;                                // ~1% without metadata

  auto& m = r.metadata;
  m["source"] = std::string(layout.source);
  m["doc_id"] = fmt::format("doc{:05}", doc);
  m["chunk_index"] = static_cast<std::int64_t>(chunk);
  m["page"] = static_cast<std::int64_t>(1 + chunk / 2);
  m["char_count"] = static_cast<std::int64_t>(r.document ? r.document->size() : 0);
  m["lang"] = std::string(kLangs[doc % std::size(kLangs)]);
  m["created_at"] = static_cast<std::int64_t>(1600000000 + doc * 3600);
  m["score"] = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  m["is_public"] = pct(rng) < 70;
  m["version"] = static_cast<double>(1 + doc % 3);  // integral-valued float: must stay a float
  if (pct(rng) < 60) m["author"] = std::string(kAuthors[doc % std::size(kAuthors)]);
  if (pct(rng) < 40)
    m["tags"] =
        fmt::format("{},{}", kWords[topic % std::size(kWords)], kWords[doc % std::size(kWords)]);
  if (pct(rng) < 5)
    m["big_counter"] =
        static_cast<std::int64_t>((std::int64_t{1} << 53) + static_cast<std::int64_t>(index));
  if (pct(rng) < 5) m["title"] = std::string(kUnicode[index % std::size(kUnicode)]);
  if (chunk > 0)
    m["parent_chunk"] = fmt::format("{}-doc{:05}-c00", layout.name, doc);  // a citation
  return r;
}

}  // namespace cm::corpus
