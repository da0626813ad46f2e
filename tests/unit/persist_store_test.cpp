// PersistStore (common/persist/persist_store.hpp) on the real 1.0.5 fixture directory
// (tests/data/persist/conformance-1.0.5.tar.gz): it never writes a byte into the directory, reads
// rows still in a -wal file, and refuses what is not a persist directory. The records themselves
// are checked by the read-only conformance suite (tests/unit/store_conformance_unit_test.cpp);
// damage to the segment files by tests/unit/persist_damage_test.cpp.
#include "common/persist/persist_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "common/run/store_factory.hpp"
#include "common/store/canonical.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/files.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using persist_test::read_bytes;
using persist_test::write_bytes;

class PersistStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("persist-store");
    auto unpacked = persist_test::unpack_persist_fixture(dir_);
    ASSERT_TRUE(unpacked) << unpacked.error().message;
    persist_ = *unpacked;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<std::unique_ptr<PersistStore>> open() {
    return PersistStore::open(persist_, {.scratch_parent = dir_ / "scratch"});
  }
  // Reads every record of `collection` (count, every id page, every record, one query).
  Status read_all(VectorStore& store, const std::string& collection) {
    CM_ASSIGN_OR_RETURN(auto info, store.find_collection(collection));
    if (!info) return make_error(ErrorCode::kNotFound, collection);
    CM_ASSIGN_OR_RETURN(auto n, store.count(*info));
    CM_ASSIGN_OR_RETURN(auto ids, store.list_ids(*info, 0, static_cast<std::uint32_t>(n + 1)));
    CM_ASSIGN_OR_RETURN(auto records, store.get_records(*info, ids));
    if (!records.empty()) {
      CM_RETURN_IF_ERROR(
          store.query(*info, std::vector<std::vector<float>>{records[0].embedding}, 3));
    }
    return ok_status();
  }

  fs::path dir_;
  fs::path persist_;
};

TEST_F(PersistStoreTest, ReadingEverythingLeavesTheDirectoryByteForByteUnchanged) {
  const auto before = testing::directory_digest(persist_);
  ASSERT_GT(before.size(), 20u);
  {
    auto store = open();
    ASSERT_TRUE(store) << store.error().message;
    auto list = (*store)->list_collections();
    ASSERT_TRUE(list);
    for (const auto& c : *list) ASSERT_TRUE(read_all(**store, c.name)) << c.name;
    EXPECT_FALSE(fs::is_empty(dir_ / "scratch")) << "the private copy is under scratch_parent";
  }
  EXPECT_EQ(testing::directory_digest(persist_), before);
  EXPECT_TRUE(fs::is_empty(dir_ / "scratch")) << "the private copy is removed at close";
}

// get_records reads ids asked in list order with one range scan and any others by lookup: every
// way of asking (reversed, a gap, ids far apart, one id twice, concurrently) gives the same
// records.
TEST_F(PersistStoreTest, RecordsAreTheSameHoweverTheIdsAreAsked) {
  auto store = open();
  ASSERT_TRUE(store) << store.error().message;
  auto list = (*store)->list_collections();
  ASSERT_TRUE(list);
  std::size_t checked = 0;
  for (const auto& c : *list) {
    auto n = (*store)->count(c);
    ASSERT_TRUE(n);
    auto ids = (*store)->list_ids(c, 0, static_cast<std::uint32_t>(*n + 1));
    ASSERT_TRUE(ids);
    if (ids->size() < 4) continue;
    auto in_order = (*store)->get_records(c, *ids);
    ASSERT_TRUE(in_order) << in_order.error().message;
    std::map<std::string, std::uint64_t> digest;
    for (const auto& r : *in_order) digest[r.id] = record_digest(r);
    ASSERT_EQ(digest.size(), ids->size()) << c.name;
    const auto& v = *ids;
    std::vector<std::vector<std::string>> askings = {
        {v.rbegin(), v.rend()},
        {v[0], v[2], v[3]},
        {v[0], v.back(), v[1]},
        {v[1], v[1], v[0]},
    };
    for (const auto& asked : askings) {
      auto got = (*store)->get_records(c, asked);
      ASSERT_TRUE(got) << got.error().message;
      std::set<std::string> want(asked.begin(), asked.end());
      ASSERT_EQ(got->size(), want.size()) << c.name;
      for (const auto& r : *got) {
        EXPECT_TRUE(want.contains(r.id)) << r.id;
        EXPECT_EQ(record_digest(r), digest.at(r.id)) << c.name << " " << r.id;
      }
    }
    std::vector<std::thread> workers;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&] {
        for (int round = 0; round < 5; ++round) {
          auto got = (*store)->get_records(c, v);
          if (!got || got->size() != v.size()) ++failures;
          for (const auto& r : got ? *got : std::vector<Record>{}) {
            if (record_digest(r) != digest.at(r.id)) ++failures;
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(failures.load(), 0) << c.name;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

// Every record of every collection, read as an export reads them (ids in list order), by id.
std::map<std::string, Record> every_record(VectorStore& store) {
  std::map<std::string, Record> out;
  auto list = store.list_collections();
  EXPECT_TRUE(list);
  for (const auto& c : list ? *list : std::vector<CollectionInfo>{}) {
    auto n = store.count(c);
    auto ids = store.list_ids(c, 0, static_cast<std::uint32_t>(n.value_or(0) + 1));
    EXPECT_TRUE(ids);
    auto got = store.get_records(c, ids ? *ids : std::vector<std::string>{});
    EXPECT_TRUE(got) << (got ? "" : got.error().message);
    for (auto& r : got ? *got : std::vector<Record>{}) out[c.name + "/" + r.id] = std::move(r);
  }
  return out;
}

// A range of records is read with their metadata rows in embedding_metadata's own rowid order,
// between the lowest and highest rowid of those rows, where Chroma's inserts put them. Rows an
// update rewrote sit much later in the table: with a few (the band between still narrow enough to
// scan) and with a wide band (read through the (id, key) index instead), every record reads the
// same as before the move, with no metadata key lost or taken from another record.
TEST_F(PersistStoreTest, MetadataRowsRewrittenLaterInTheTableReadTheSame) {
  std::map<std::string, Record> before;
  {
    auto store = open();
    ASSERT_TRUE(store) << store.error().message;
    before = every_record(**store);
  }
  ASSERT_GT(before.size(), 10u);
  // Moves the metadata rows of every `modulo`-th record to the end of the table (new rowids),
  // after `padding` rows of a record id no collection has (-modulo).
  auto move_rows = [&](int modulo, int padding) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((persist_ / "chroma.sqlite3").c_str(), &db), SQLITE_OK);
    const std::string m = std::to_string(modulo);
    const std::string sql =
        "BEGIN;"
        "CREATE TEMP TABLE moved AS SELECT * FROM embedding_metadata WHERE id % " +
        m +
        " = 0;"
        "DELETE FROM embedding_metadata WHERE id % " +
        m +
        " = 0;"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(padding) +
        ") INSERT INTO embedding_metadata (id, key, int_value) "
        "SELECT -" +
        m +
        ", 'pad' || i, i FROM n;"
        "INSERT INTO embedding_metadata SELECT * FROM moved;"
        "COMMIT;";
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  };
  for (const auto& [modulo, padding] : {std::pair{7, 1}, std::pair{5, 20000}}) {
    move_rows(modulo, padding);
    auto store = open();
    ASSERT_TRUE(store) << store.error().message;
    const auto after = every_record(**store);
    ASSERT_EQ(after.size(), before.size()) << "padding " << padding;
    for (const auto& [key, record] : before) {
      EXPECT_EQ(after.at(key), record) << key << " (padding " << padding << ")";
    }
  }
}

TEST_F(PersistStoreTest, DescribesItselfAsItsUri) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->describe(), "persist:" + persist_.string());
  auto parsed = parse_store_uri((*store)->describe());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->persist_dir, persist_);
}

// A crash in WAL mode leaves committed rows in chroma.sqlite3-wal only: they are read (from the
// private copy, with the -wal and -shm copied along), and the three files stay as they were.
TEST_F(PersistStoreTest, ReadsRowsThatLiveOnlyInTheWriteAheadLog) {
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open((persist_ / "chroma.sqlite3").c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer,
                         "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; "
                         "INSERT INTO collection_metadata (collection_id, key, int_value) "
                         "SELECT id, 'only_in_wal', 42 FROM collections WHERE name = 'gamma';",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  // The writer stays open (as a killed server's would have): its WAL is not checkpointed.
  const fs::path crashed = dir_ / "crashed";
  fs::copy(persist_, crashed, fs::copy_options::recursive);
  sqlite3_close(writer);
  ASSERT_TRUE(fs::exists(crashed / "chroma.sqlite3-wal"));
  const auto before = testing::directory_digest(crashed);
  {
    auto store = PersistStore::open(crashed, {.scratch_parent = dir_ / "scratch"});
    ASSERT_TRUE(store) << store.error().message;
    auto gamma = (*store)->find_collection("gamma");
    ASSERT_TRUE(gamma && *gamma);
    EXPECT_EQ((*gamma)->metadata.at("only_in_wal"), MetaValue{std::int64_t{42}});
    ASSERT_TRUE(read_all(**store, "gamma"));
  }
  EXPECT_EQ(testing::directory_digest(crashed), before);
}

// A crash in the middle of a transaction (rollback-journal mode, what Chroma 1.0.5 uses) leaves
// changed pages in chroma.sqlite3 and their originals in a hot -journal: the copy takes both and
// SQLite rolls the transaction back on it, so the reader sees the last committed state.
TEST_F(PersistStoreTest, RollsAnInterruptedTransactionBackOnTheCopy) {
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open((persist_ / "chroma.sqlite3").c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer,
                         "PRAGMA cache_size=1; BEGIN; "
                         "UPDATE embedding_metadata SET string_value = 'torn' "
                         "WHERE string_value IS NOT NULL; "
                         "DELETE FROM embeddings;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const fs::path crashed = dir_ / "crashed";
  fs::copy(persist_, crashed, fs::copy_options::recursive);  // mid-transaction, as after a kill
  sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(writer);
  ASSERT_TRUE(fs::exists(crashed / "chroma.sqlite3-journal"));
  ASSERT_NE(read_bytes(crashed / "chroma.sqlite3"), read_bytes(persist_ / "chroma.sqlite3"))
      << "the interrupted transaction did not reach the database file: nothing to roll back";
  const auto before = testing::directory_digest(crashed);
  {
    auto store = PersistStore::open(crashed, {.scratch_parent = dir_ / "scratch"});
    ASSERT_TRUE(store) << store.error().message;
    auto uris = (*store)->find_collection("uris");
    ASSERT_TRUE(uris && *uris);
    auto count = (*store)->count(**uris);
    ASSERT_TRUE(count) << count.error().message;
    EXPECT_EQ(*count, 6u);
    std::vector<std::string> ids{"id-0"};
    auto got = (*store)->get_records(**uris, ids);
    ASSERT_TRUE(got && got->size() == 1);
    EXPECT_EQ((*got)[0].uri, std::optional<std::string>("s3://bucket/images/0.png"));
  }
  EXPECT_EQ(testing::directory_digest(crashed), before);
}

TEST_F(PersistStoreTest, NotAPersistDirectoryIsAUsageErrorNamingIt) {
  struct Case {
    fs::path dir;
    ErrorCode code;
    const char* message;
  };
  fs::create_directories(dir_ / "empty");
  fs::create_directories(dir_ / "garbage");
  write_bytes(dir_ / "garbage" / "chroma.sqlite3", std::string(4096, 'x'));
  fs::create_directories(dir_ / "other-db");
  sqlite3* other = nullptr;
  sqlite3_open((dir_ / "other-db" / "chroma.sqlite3").c_str(), &other);
  sqlite3_exec(other, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  const Case cases[] = {
      {dir_ / "nowhere", ErrorCode::kInvalidArgument, "does not exist"},
      {persist_ / "chroma.sqlite3", ErrorCode::kInvalidArgument, "is not a directory"},
      {dir_ / "empty", ErrorCode::kInvalidArgument, "has no chroma.sqlite3"},
      {dir_ / "garbage", ErrorCode::kCorruption, "is not a SQLite 3 database"},
      {dir_ / "other-db", ErrorCode::kInvalidArgument, "has no 'collections' table"},
  };
  for (const auto& c : cases) {
    auto store = PersistStore::open(c.dir, {.scratch_parent = dir_ / "scratch"});
    ASSERT_FALSE(store) << c.dir;
    EXPECT_EQ(store.error().code, c.code) << store.error().message;
    EXPECT_NE(store.error().message.find(c.message), std::string::npos) << store.error().message;
  }
}

TEST_F(PersistStoreTest, UnknownTenantOrDatabaseListsTheOnesThatExist) {
  PersistStoreOptions options;
  options.database = "nope";
  auto store = PersistStore::open(persist_, options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kNotFound);
  EXPECT_NE(store.error().message.find("default_tenant/default_database"), std::string::npos)
      << store.error().message;
}

TEST_F(PersistStoreTest, TheFactoryOpensItAsASourceOnly) {
  auto uri = parse_store_uri("persist:" + persist_.string());
  ASSERT_TRUE(uri);
  StoreOpenOptions options;
  options.scratch_dir = dir_ / "scratch";
  auto source = open_store(*uri, StoreRole::kSource, options);
  ASSERT_TRUE(source) << source.error().message;
  for (StoreRole role : {StoreRole::kTarget, StoreRole::kWork}) {
    auto refused = open_store(*uri, role, {});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message.find("only ever read"), std::string::npos)
        << refused.error().message;
  }
}

TEST_F(PersistStoreTest, TruncatedDatabase) {
  const auto file = persist_ / "chroma.sqlite3";
  write_bytes(file, read_bytes(file).substr(0, 8192 * 3));
  auto store = open();
  if (store) {
    auto read = read_all(**store, "gamma");
    ASSERT_FALSE(read);
    EXPECT_NE(read.error().message.find("chroma.sqlite3"), std::string::npos);
  } else {
    EXPECT_NE(store.error().message.find("chroma.sqlite3"), std::string::npos)
        << store.error().message;
  }
}

}  // namespace
}  // namespace cm
