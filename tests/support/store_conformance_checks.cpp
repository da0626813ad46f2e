// The VectorStore contract's checks (tests/support/store_conformance.hpp): every check applies to
// every store; a read-only store reads the fixture and must refuse every write. Compiled into
// each test binary that instantiates the suite.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <span>

#include "tests/support/store_conformance.hpp"

namespace cm::testing {

TEST_P(StoreConformance, CreateFindListAndRefuseDuplicates) {
  auto info = create("alpha", "cosine");
  auto found = store_->find_collection("alpha");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->hnsw.space, "cosine");
  EXPECT_EQ((*found)->hnsw.ef_construction, 150);
  EXPECT_EQ((*found)->metadata,
            (Metadata{{"team", std::string("search")}, {"v", std::int64_t{2}}}));
  auto missing = store_->find_collection("nope_nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  auto dup = store_->create_collection({"alpha", {}, {}, {}});
  ASSERT_FALSE(dup);
  if (read_only()) {
    ends_with_refusal(std::unexpected(dup.error()));
  } else {
    EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  }
  create("beta");
  auto list = store_->list_collections();
  ASSERT_TRUE(list);
  std::set<std::string> names;
  for (const auto& c : *list) names.insert(c.name);
  if (read_only()) {  // the fixture holds every collection the checks read
    EXPECT_TRUE(names.contains("alpha") && names.contains("beta"));
    EXPECT_EQ(names.size(), read_only_fixture().size());
  } else {
    EXPECT_EQ(names, (std::set<std::string>{"alpha", "beta"}));
  }
}

TEST_P(StoreConformance, UpsertIsIdempotentAndReadsBackExactly) {
  auto c = create("gamma");
  auto rs = records(25);
  put(c, rs);
  put(c, rs);  // a re-sent batch
  auto count = store_->count(c);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 25u);
  auto back = all(c, 25);
  std::sort(rs.begin(), rs.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
  EXPECT_EQ(back, rs);
}

TEST_P(StoreConformance, UpsertReplacesValuesOfExistingIds) {
  auto c = create(read_only() ? "gamma" : "delta");
  put(c, records(10));
  auto newer = records(10, 100.0f);
  for (auto& r : newer) r.metadata["s"] = std::string("updated");  // same key set
  if (ends_with_refusal(store_->upsert(c, std::span<const Record>(newer).subspan(0, 4)))) return;
  ASSERT_TRUE(store_->flush());
  auto back = all(c, 10);
  ASSERT_EQ(back.size(), 10u);
  for (const auto& r : back) {
    const bool updated = r.id == "id-0" || r.id == "id-1" || r.id == "id-2" || r.id == "id-3";
    EXPECT_EQ(std::get<std::string>(r.metadata.at("s")), updated ? "updated" : "x") << r.id;
    EXPECT_EQ(r.embedding[0] >= 100.0f, updated) << r.id;
  }
}

TEST_P(StoreConformance, RemoveMetadataKeysRemovesOnlyThoseKeys) {
  auto c = create(read_only() ? "gamma" : "epsilon");
  auto rs = records(6);
  put(c, rs);
  std::vector<MetadataKeyRemoval> removals{
      {"id-1", {"s", "f"}}, {"id-2", {"not-there"}}, {"id-4", {}}, {"no-such-id", {"s"}}};
  if (ends_with_refusal(store_->remove_metadata_keys(c, removals))) return;
  ASSERT_TRUE(store_->remove_metadata_keys(c, removals));  // idempotent (a retried call)
  ASSERT_TRUE(store_->flush());
  auto count = store_->count(c);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 6u) << "no record is added for an unknown id";
  auto back = all(c, 6);
  ASSERT_EQ(back.size(), 6u);
  std::sort(rs.begin(), rs.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
  rs[1].metadata.erase("s");
  rs[1].metadata.erase("f");
  EXPECT_EQ(back, rs) << "embeddings, documents and other keys stay as they were";
}

TEST_P(StoreConformance, ListIdsPagesCoverEveryIdOnceAndGetOmitsUnknown) {
  auto c = create("epsilon");
  put(c, records(23));
  std::multiset<std::string> seen;
  std::vector<std::string> order;
  for (std::uint64_t offset = 0;; offset += 5) {
    auto page = store_->list_ids(c, offset, 5);
    ASSERT_TRUE(page) << page.error().message;
    seen.insert(page->begin(), page->end());
    order.insert(order.end(), page->begin(), page->end());
    if (page->size() < 5) break;
  }
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 23u);
  auto one_page = store_->list_ids(c, 0, 100);
  ASSERT_TRUE(one_page);
  EXPECT_EQ(*one_page, order) << "pages of any size list the same order";
  std::vector<std::string> ask{"id-1", "no-such-id", "id-22"};
  auto got = store_->get_records(c, ask);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 2u);
}

TEST_P(StoreConformance, DeleteRecordsAndCollections) {
  auto c = create(read_only() ? "gamma" : "zeta");
  put(c, records(8));
  std::vector<std::string> gone{"id-2", "id-5"};
  if (ends_with_refusal(store_->delete_records(c, gone))) {
    ends_with_refusal(store_->delete_collection(c.name));
    auto still = store_->find_collection(c.name);
    EXPECT_TRUE(still && *still);
    return;
  }
  ASSERT_TRUE(store_->flush());
  auto count = store_->count(c);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 6u);
  EXPECT_EQ(all(c, 8).size(), 6u);
  ASSERT_TRUE(store_->delete_collection("zeta"));
  auto found = store_->find_collection("zeta");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(StoreConformance, UpdateCollectionMetadataReplacesIt) {
  auto c = create(read_only() ? "alpha" : "theta");
  put(c, records(3));
  Metadata next{{"migration_run_id", std::string("r1")}, {"v", 3.0}};
  if (ends_with_refusal(store_->update_collection_metadata(c, next))) return;
  ASSERT_TRUE(store_->flush());
  auto found = store_->find_collection("theta");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->metadata, next);
  EXPECT_EQ((*found)->hnsw.ef_construction, 150);
  auto count = store_->count(c);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 3u);
}

TEST_P(StoreConformance, RenameKeepsIdRecordsAndConfigurationAndRefusesATakenName) {
  auto c = create(read_only() ? "gamma" : "iota");
  put(c, records(5));
  if (read_only()) {
    ends_with_refusal(store_->rename_collection(c, "iota.renamed-1"));
    auto still = store_->find_collection("gamma");
    EXPECT_TRUE(still && *still);
    return;
  }
  auto other = create("kappa");
  auto taken = store_->rename_collection(c, "kappa");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists) << taken.error().message;
  ASSERT_TRUE(store_->rename_collection(c, "iota.renamed-1"));
  ASSERT_TRUE(store_->flush());
  auto old_name = store_->find_collection("iota");
  ASSERT_TRUE(old_name);
  EXPECT_FALSE(old_name->has_value());
  auto found = store_->find_collection("iota.renamed-1");
  ASSERT_TRUE(found && *found);
  const CollectionInfo& renamed = **found;
  EXPECT_EQ(renamed.id, c.id);
  EXPECT_EQ(renamed.hnsw, c.hnsw);
  EXPECT_EQ(renamed.metadata, c.metadata);
  EXPECT_EQ(all(renamed, 5), records(5));
  auto count = store_->count(renamed);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 5u);
  // The old name is free again and the renamed collection can move back.
  ASSERT_TRUE(store_->rename_collection(renamed, "iota"));
  auto back = store_->find_collection("iota");
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->id, c.id);
  EXPECT_EQ(all(**back, 5), records(5));
  EXPECT_EQ(other.name, "kappa");  // untouched by the refused rename
}

// Chroma's fifth record field: a uri (also "") reads back exactly, a null uri stays null (not ""),
// and upserting a new version of a record with a uri keeps the new uri.
TEST_P(StoreConformance, UrisRoundTripAndNullUrisStayNull) {
  auto c = create("uris");
  auto batch = uri_records();
  put(c, batch);
  auto got = all(c, 6);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got, batch);
  EXPECT_FALSE(got[3].uri.has_value());
  EXPECT_FALSE(got[5].uri.has_value());
  EXPECT_EQ(got[1].uri, std::optional<std::string>(""));
  batch[0].uri = "s3://bucket/images/0-v2.png";
  if (ends_with_refusal(store_->upsert(c, std::span(batch).first(1)))) return;
  ASSERT_TRUE(store_->flush());
  EXPECT_EQ(all(c, 6), batch);
}

// The collection's configuration survives create: embedding_function (and the hnsw parameters)
// read back as given, so clients embedding query texts keep the same model.
TEST_P(StoreConformance, ConfigurationEmbeddingFunctionSurvivesCreate) {
  const CollectionSpec spec = embedding_function_spec();
  auto created = store_->create_collection(spec);
  if (read_only()) {
    EXPECT_FALSE(created);
  } else {
    ASSERT_TRUE(created) << created.error().message;
  }
  ASSERT_TRUE(store_->flush());
  auto found = store_->find_collection("efconf");
  ASSERT_TRUE(found && *found);
  const CollectionInfo& info = **found;
  EXPECT_EQ(info.hnsw, spec.hnsw);
  ASSERT_TRUE(info.configuration.is_object()) << info.configuration.dump();
  ASSERT_TRUE(info.configuration.contains("embedding_function")) << info.configuration.dump();
  EXPECT_EQ(info.configuration["embedding_function"], spec.configuration["embedding_function"])
      << info.configuration.dump();
  EXPECT_EQ(info.configuration["hnsw"]["ef_search"], 64) << info.configuration.dump();
}

TEST_P(StoreConformance, EmptyCollectionCountsZero) {
  auto c = create("eta");
  ASSERT_TRUE(store_->flush());
  auto count = store_->count(c);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 0u);
  auto page = store_->list_ids(c, 0, 10);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->empty());
}

// Every store answers a query with the exact nearest records of a brute-force reference computed
// here in double precision with Chroma's definitions. On 60 records a server's HNSW search is
// exact, so the HTTP and snapshot stores must agree on ids; distances agree to 1e-4 relative
// (absolute for distances below 1: cosine distances of near-identical vectors are ~1e-7).
TEST_P(StoreConformance, QueryReturnsTheExactNearestRecordsInEachSpace) {
  const std::vector<Record> data = query_records();
  std::mt19937_64 rng(8);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random_vector = [&] {
    std::vector<float> v(8);
    for (auto& x : v) x = normal(rng);
    return v;
  };
  std::vector<std::vector<float>> queries{random_vector(), random_vector(), data[17].embedding};
  auto reference = [&](const std::string& space, const std::vector<float>& q) {
    std::vector<std::pair<double, std::string>> all;
    for (const auto& r : data) {
      double dot = 0, qq = 0, rr = 0, l2 = 0;
      for (std::size_t d = 0; d < q.size(); ++d) {
        dot += double{q[d]} * r.embedding[d];
        qq += double{q[d]} * q[d];
        rr += double{r.embedding[d]} * r.embedding[d];
        l2 += (double{q[d]} - r.embedding[d]) * (double{q[d]} - r.embedding[d]);
      }
      all.emplace_back(space == "l2"   ? l2
                       : space == "ip" ? 1 - dot
                                       : 1 - dot / std::sqrt(qq * rr),
                       r.id);
    }
    std::sort(all.begin(), all.end());
    all.resize(5);
    return all;
  };
  for (const std::string space : {"l2", "cosine", "ip"}) {
    SCOPED_TRACE(space);
    auto c = create("query_" + space, space);
    put(c, data);
    auto found = store_->find_collection(c.name);
    ASSERT_TRUE(found && *found);
    auto hits = store_->query(**found, queries, 5);
    ASSERT_TRUE(hits) << hits.error().message;
    ASSERT_EQ(hits->size(), queries.size());
    for (std::size_t q = 0; q < queries.size(); ++q) {
      auto want = reference(space, queries[q]);
      ASSERT_EQ((*hits)[q].size(), want.size()) << "query " << q;
      for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ((*hits)[q][i].id, want[i].second) << "query " << q << " rank " << i;
        EXPECT_NEAR((*hits)[q][i].distance, want[i].first,
                    1e-4 * std::max(1.0, std::abs(want[i].first)))
            << "query " << q << " rank " << i;
      }
    }
    // Fewer records than k: every record, still ascending; k = 0: empty lists.
    auto small = create("small_" + space, space);
    put(small, std::span<const Record>(data).subspan(0, 3));
    auto few = store_->query(**store_->find_collection(small.name), queries, 10);
    ASSERT_TRUE(few) << few.error().message;
    EXPECT_EQ((*few)[0].size(), 3u);
    EXPECT_TRUE(std::is_sorted(
        (*few)[0].begin(), (*few)[0].end(),
        [](const QueryHit& a, const QueryHit& b) { return a.distance < b.distance; }));
    auto none = store_->query(**found, queries, 0);
    ASSERT_TRUE(none);
    EXPECT_TRUE((*none)[0].empty());
  }
  // A query of another dimension is refused, not answered.
  std::vector<std::vector<float>> wrong{{1.0f, 2.0f}};
  EXPECT_FALSE(store_->query(**store_->find_collection("query_l2"), wrong, 3));
}

}  // namespace cm::testing
