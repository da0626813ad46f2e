// Damage to a real Chroma 1.0.5 persist directory (tests/data/persist/conformance-1.0.5.tar.gz),
// made on a copy: each kind is detected and named in PersistStore::health(), never a crash nor a
// failed collection; every vector that still exists (in the segment, or in any surviving
// embeddings_queue row) is read back as before the damage; the rest are listed by id
// (unrecoverable_ids), make get_records fail by default, and are left out with
// skip_unrecoverable.
//
// In the fixture, collection gamma (l2, ids id-0 .. id-24) was persisted at its 25th write: the
// segment holds all 25 vectors and the purged queue keeps only its last row, an upsert of id-24.
// query_cosine (q-0 .. q-59) likewise keeps only an upsert of q-59. Both pickles map label L to
// id <prefix>-(L-1); hnswlib's element (slot) order is the order its threads inserted them, not
// the label order, so which ids a damaged slot loses is read from data_level0.bin (id_at_slot).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "common/persist/persist_store.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using persist_test::read_bytes;
using persist_test::write_bytes;

std::vector<std::string> ids(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

class PersistDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("persist-damage");
    auto unpacked = persist_test::unpack_persist_fixture(dir_);
    ASSERT_TRUE(unpacked) << unpacked.error().message;
    persist_ = *unpacked;
    for (const char* name : {"gamma", "query_cosine"}) healthy_[name] = read_all(name, false);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<PersistStore> open(bool skip) {
    auto store = PersistStore::open(
        persist_, {.scratch_parent = dir_ / "scratch", .skip_unrecoverable = skip});
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }
  CollectionInfo info(PersistStore& store, const std::string& name) {
    auto found = store.find_collection(name);
    EXPECT_TRUE(found && *found) << name;
    return found && *found ? **found : CollectionInfo{};
  }
  // Every record the store lists for `name`, by id.
  std::map<std::string, Record> read_all(const std::string& name, bool skip) {
    auto store = open(skip);
    if (!store) return {};
    const CollectionInfo c = info(*store, name);
    auto n = store->count(c);
    EXPECT_TRUE(n) << n.error().message;
    auto listed = store->list_ids(c, 0, 1000);
    EXPECT_TRUE(listed);
    EXPECT_EQ(listed->size(), *n);
    auto records = store->get_records(c, *listed);
    EXPECT_TRUE(records) << records.error().message;
    std::map<std::string, Record> out;
    if (records) {
      for (auto& r : *records) out[r.id] = std::move(r);
    }
    return out;
  }
  fs::path segment_folder(const std::string& collection) {
    auto store = open(false);
    auto h = store->health(info(*store, collection));
    EXPECT_TRUE(h);
    return persist_ / h->vector_segment;
  }
  PersistCollectionHealth health(const std::string& collection) {
    auto store = open(false);
    auto h = store->health(info(*store, collection));
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : PersistCollectionHealth{};
  }

  // The id whose vector element `slot` of the (undamaged) segment holds.
  std::string id_at_slot(const std::string& collection, const std::string& prefix,
                         std::uint64_t slot) {
    const auto folder = segment_folder(collection);
    const std::string header = read_bytes(folder / "header.bin");
    std::uint64_t slot_bytes = 0, label_offset = 0, label = 0;
    std::memcpy(&slot_bytes, header.data() + 28, 8);
    std::memcpy(&label_offset, header.data() + 36, 8);
    const std::string data = read_bytes(folder / "data_level0.bin");
    std::memcpy(&label, data.data() + slot * slot_bytes + label_offset, 8);
    return prefix + std::to_string(label - 1);
  }
  std::vector<std::string> ids_at_slots(const std::string& collection, const std::string& prefix,
                                        std::uint64_t from, std::uint64_t to) {
    std::vector<std::string> out;
    for (std::uint64_t i = from; i <= to; ++i) out.push_back(id_at_slot(collection, prefix, i));
    return out;
  }

  // The damage is named, exactly `lost` are unrecoverable, and every other record reads back as
  // before (from the segment or the queue), by default and with skip_unrecoverable.
  void expect_lost(const std::string& collection, const std::string& damage,
                   std::vector<std::string> lost) {
    std::erase(lost, collection == "gamma" ? "id-24" : "q-59");  // in the queue
    std::sort(lost.begin(), lost.end());
    const auto h = health(collection);
    std::string all;
    for (const auto& d : h.damage) all += d + "\n";
    EXPECT_NE(all.find(damage), std::string::npos) << all;
    EXPECT_EQ(h.unrecoverable, lost.size());
    EXPECT_FALSE(h.recoverable());
    EXPECT_EQ(h.records, healthy_[collection].size()) << "unrecoverable records still exist";
    auto store = open(false);
    const CollectionInfo c = info(*store, collection);
    auto listed = store->unrecoverable_ids(c);
    ASSERT_TRUE(listed);
    std::sort(listed->begin(), listed->end());
    EXPECT_EQ(*listed, lost);
    // By default a read that needs one of them fails, naming it.
    std::vector<std::string> one{lost.front()};
    auto refused = store->get_records(c, one);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
    EXPECT_NE(refused.error().message.find("'" + lost.front() + "' has no vector"),
              std::string::npos)
        << refused.error().message;
    // With skip_unrecoverable they are not there; everything else is, as before the damage.
    const auto readable = read_all(collection, true);
    EXPECT_EQ(readable.size(), healthy_[collection].size() - lost.size());
    for (const auto& [id, record] : readable) {
      const Record& before = healthy_[collection].at(id);
      EXPECT_EQ(record.metadata, before.metadata) << id;
      ASSERT_EQ(record.embedding.size(), before.embedding.size()) << id;
      for (std::size_t i = 0; i < record.embedding.size(); ++i) {
        // Cosine vectors from the queue are the client's, from the segment stored * norm.
        EXPECT_NEAR(record.embedding[i], before.embedding[i],
                    1e-5f * std::max(1.0f, std::fabs(before.embedding[i])))
            << id;
      }
    }
    for (const auto& id : lost) EXPECT_FALSE(readable.contains(id)) << id;
    auto skip = open(true);
    const CollectionInfo sc = info(*skip, collection);
    auto hits =
        skip->query(sc, std::vector<std::vector<float>>{readable.begin()->second.embedding}, 1000);
    ASSERT_TRUE(hits) << hits.error().message;
    EXPECT_EQ((*hits)[0].size(), readable.size());
  }

  fs::path dir_;
  fs::path persist_;
  std::map<std::string, std::map<std::string, Record>> healthy_;
};

TEST_F(PersistDamageTest, AHealthyDirectoryIsHealthy) {
  auto store = open(false);
  auto collections = store->list_collections();
  ASSERT_TRUE(collections);
  for (const auto& c : *collections) {
    auto h = store->health(c);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_TRUE(h->recoverable()) << c.name;
    EXPECT_TRUE(h->damage.empty()) << c.name << ": " << h->damage.front();
    EXPECT_EQ(h->vectors_recovered_from_queue, 0u) << c.name;
  }
  const auto gamma = health("gamma");
  EXPECT_EQ(gamma.records, 25u);
  EXPECT_EQ(gamma.records_in_sqlite, 25u);
  EXPECT_EQ(gamma.segment_elements, 25u);
  EXPECT_EQ(gamma.segment_vectors, 25u);
  EXPECT_EQ(gamma.queue_rows, 1u) << "1.0.5 purges the queue up to the watermark, keeping it";
  EXPECT_EQ(gamma.queue_rows_past_watermark, 0u);
  EXPECT_EQ(gamma.purge_watermark, std::optional<std::int64_t>(25));
  // epsilon's vector segment was never persisted: its vectors live only in the queue.
  const auto epsilon = health("epsilon");
  EXPECT_EQ(epsilon.records, 23u);
  EXPECT_EQ(epsilon.segment_vectors, 0u);
  EXPECT_EQ(epsilon.queue_rows_past_watermark, epsilon.queue_rows);
  EXPECT_EQ(epsilon.purge_watermark, std::nullopt);
  auto folders = store->orphan_segment_folders();
  ASSERT_TRUE(folders);
  EXPECT_TRUE(folders->empty());
  fs::create_directories(persist_ / "not-a-segment");
  EXPECT_EQ(*open(false)->orphan_segment_folders(), std::vector<std::string>{"not-a-segment"});
}

TEST_F(PersistDamageTest, TruncatedDataLevel0KeepsItsWholeElements) {
  const auto file = segment_folder("gamma") / "data_level0.bin";
  const auto lost = ids_at_slots("gamma", "id-", 6, 24);
  write_bytes(file, read_bytes(file).substr(0, 1000));  // 6 whole elements of 152 bytes
  expect_lost("gamma", file.string() + ": is truncated", lost);
  EXPECT_EQ(health("gamma").vectors_recovered_from_queue, 1u) << "id-24, from its queue row";
}

TEST_F(PersistDamageTest, BadHeaderLosesTheSegmentNotTheQueue) {
  const auto file = segment_folder("gamma") / "header.bin";
  std::string bytes = read_bytes(file);
  bytes[0] = 7;
  write_bytes(file, bytes);
  expect_lost("gamma", "persistence version 7", ids("id-", 0, 24));
}

TEST_F(PersistDamageTest, ShortLengthsOfACosineCollection) {
  const auto file = segment_folder("query_cosine") / "length.bin";
  const auto lost = ids_at_slots("query_cosine", "q-", 10, 59);
  write_bytes(file, read_bytes(file).substr(0, 40));  // norms of 10 elements
  expect_lost("query_cosine", file.string() + ": is truncated", lost);
}

TEST_F(PersistDamageTest, DamagedPickle) {
  const auto file = segment_folder("gamma") / "index_metadata.pickle";
  write_bytes(file, read_bytes(file).substr(0, 300));
  expect_lost("gamma", file.string(), ids("id-", 0, 24));
}

TEST_F(PersistDamageTest, MissingPickle) {
  fs::remove(segment_folder("gamma") / "index_metadata.pickle");
  expect_lost("gamma", "counts 25 elements, but there is no index_metadata.pickle",
              ids("id-", 0, 24));
}

// A label the pickle maps that no usable live element carries: overwritten (out of range), marked
// deleted, carried twice, or with an impossible norm.
TEST_F(PersistDamageTest, LabelsWithoutAUsableElement) {
  const auto folder = segment_folder("gamma");
  const std::string original = read_bytes(folder / "data_level0.bin");
  const std::string header = read_bytes(folder / "header.bin");
  std::uint64_t slot_bytes = 0, label_offset = 0;
  std::memcpy(&slot_bytes, header.data() + 28, 8);
  std::memcpy(&label_offset, header.data() + 36, 8);
  const auto lost = ids_at_slots("gamma", "id-", 0, 5);
  std::string bytes = original;
  const std::uint64_t far = 999999;
  std::memcpy(bytes.data() + label_offset, &far, 8);  // slot 0
  bytes[slot_bytes * 3 + 2] |= 1;                     // slot 3 deleted
  write_bytes(folder / "data_level0.bin", bytes);
  expect_lost("gamma", "", {lost[0], lost[3]});
  auto h = health("gamma");
  EXPECT_EQ(h.orphan_labels, 1u) << "label 999999 maps to no id";
  EXPECT_EQ(h.deleted_labels, 1u);
  bytes = original;
  std::memcpy(bytes.data() + slot_bytes * 5 + label_offset,
              bytes.data() + slot_bytes * 4 + label_offset,
              8);  // slots 4 and 5 both carry id-4's label
  write_bytes(folder / "data_level0.bin", bytes);
  expect_lost("gamma", "carried by more than one live element", {lost[4], lost[5]});
}

TEST_F(PersistDamageTest, ImpossibleNorm) {
  const auto file = segment_folder("query_cosine") / "length.bin";
  const std::string lost = id_at_slot("query_cosine", "q-", 2);
  std::string bytes = read_bytes(file);
  const float negative = -1.0f;
  std::memcpy(bytes.data() + 4 * 2, &negative, 4);  // element 2
  write_bytes(file, bytes);
  expect_lost("query_cosine", "impossible norm", {lost});
}

// A queue that was never purged (every directory before 0.5.6) still holds the vectors the
// segment lost: rows at or below the segment's position are searched too.
TEST_F(PersistDamageTest, VectorsInOlderQueueRowsAreRecovered) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((persist_ / "chroma.sqlite3").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO embeddings_queue (seq_id, operation, topic, id, "
                               "vector, encoding, metadata) SELECT ?1, 0, topic, ?2, ?3, "
                               "'FLOAT32', NULL FROM embeddings_queue WHERE seq_id = 25",
                               -1, &insert, nullptr),
            SQLITE_OK);
  for (int i = 0; i < 10; ++i) {  // adds of id-0 .. id-9, before the purge would have run
    const std::string id = "id-" + std::to_string(i);
    const auto& v = healthy_["gamma"].at(id).embedding;
    sqlite3_bind_int64(insert, 1, i + 1);
    sqlite3_bind_text(insert, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(insert, 3, v.data(), static_cast<int>(v.size() * 4), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  const auto file = segment_folder("gamma") / "header.bin";
  write_bytes(file, read_bytes(file).substr(0, 50));
  expect_lost("gamma", "50 bytes", ids("id-", 10, 24));
  EXPECT_EQ(health("gamma").vectors_recovered_from_queue, 11u);
  const auto readable = read_all("gamma", true);
  for (int i = 0; i < 10; ++i) {
    const std::string id = "id-" + std::to_string(i);
    EXPECT_EQ(readable.at(id).embedding, healthy_["gamma"].at(id).embedding) << "l2: bit-exact";
  }
}

// Random damage anywhere in the segment's files: never a crash, never a failed collection; the
// records are each either read or listed.
TEST_F(PersistDamageTest, RandomByteFlipsAreSurvived) {
  const auto folder = segment_folder("query_cosine");
  std::mt19937 rng(12);
  std::map<std::string, std::string> originals;
  for (const char* f : {"header.bin", "data_level0.bin", "length.bin", "index_metadata.pickle"}) {
    originals[f] = read_bytes(folder / f);
  }
  for (int round = 0; round < 40; ++round) {
    for (const auto& [f, bytes] : originals) {
      std::string damaged = bytes;
      for (int k = 0; k < 3; ++k)
        damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
      write_bytes(folder / f, damaged);
    }
    auto store = open(true);
    const CollectionInfo c = info(*store, "query_cosine");
    auto h = store->health(c);
    ASSERT_TRUE(h) << h.error().message;
    auto n = store->count(c);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n + h->unrecoverable, 60u) << "round " << round;
    auto listed = store->list_ids(c, 0, 100);
    ASSERT_TRUE(listed);
    auto records = store->get_records(c, *listed);
    ASSERT_TRUE(records) << records.error().message;
    EXPECT_EQ(records->size(), *n);
  }
}

}  // namespace
}  // namespace cm
