// The record of chroma-migrate --prepare (common/run/prepare_record.hpp): it round-trips through
// its file; a record whose bytes were edited (checksum) or that is not one is kCorruption; a shard
// of another run, shard count or configuration, or a record not yet ready, is kConfigMismatch; and
// the live-collection check before a shard's first write tells the backed-up collection from one
// replaced behind the run's back. A staged record (--prepare --stage) says so, binds staged shards
// only, and keeps its live collections (checked as a merge's are).
#include "common/run/prepare_record.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/base/atomic_file.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

PrepareRecord sample() {
  return PrepareRecord{.run_id = "prep1",
                       .shards = 3,
                       .config_hash = "abc123",
                       .target = "http://localhost:8000",
                       .state = PrepareState::kReady,
                       .backup_path = "snapshots/backup",
                       .backup_verified_at = "2026-11-29T00:00:00Z",
                       .prepared_at = "2026-11-29T00:00:01Z",
                       .collections = {{.name = "docs",
                                        .action = LedgerAction::kMerged,
                                        .collection_id = "id-docs",
                                        .record_count = 12,
                                        .content_digest = "d1",
                                        .quarantine_name = {},
                                        .dropped_at = {}},
                                       {.name = "old",
                                        .action = LedgerAction::kReplaced,
                                        .collection_id = "id-old",
                                        .record_count = 3,
                                        .content_digest = "d2",
                                        .quarantine_name = "old.quarantine-prep1",
                                        .dropped_at = "2026-11-29T00:00:01Z"}}};
}

class PrepareRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("prepare_record_test-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(PrepareRecordTest, RoundTripsThroughItsFile) {
  ASSERT_TRUE(write_prepare_record(dir_, sample()));
  auto loaded = load_prepare_record(dir_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, sample());
  ASSERT_NE(loaded->find("old"), nullptr);
  EXPECT_EQ(loaded->find("old")->collection_id, "id-old");
  EXPECT_EQ(loaded->find("missing"), nullptr);
  EXPECT_TRUE(check_prepare_record(*loaded, "prep1", 3, "abc123"));
}

TEST_F(PrepareRecordTest, AnEditedRecordFailsItsChecksum) {
  auto json = prepare_record_to_json(sample());
  json["collections"][0]["collection_id"] = "id-someone-elses";  // checksum left as it was
  auto parsed = prepare_record_from_text(json.dump(), "prepared.json");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
  EXPECT_NE(parsed.error().message.find("checksum"), std::string::npos) << parsed.error().message;

  json = prepare_record_to_json(sample());
  json["checksum"] = "0000000000000000";
  parsed = prepare_record_from_text(json.dump(), "prepared.json");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
}

TEST_F(PrepareRecordTest, WhatIsNotARecordIsCorruption) {
  for (const char* text : {"", "{", "[]", "{\"run_id\": \"prep1\"}"}) {
    auto parsed = prepare_record_from_text(text, "prepared.json");
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption) << text;
  }
  // A torn file on disk (what an atomic write never leaves, but a copy might).
  ASSERT_TRUE(write_file_atomic(prepare_record_path(dir_),
                                prepare_record_to_json(sample()).dump().substr(0, 40)));
  auto loaded = load_prepare_record(dir_);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kCorruption);
}

TEST_F(PrepareRecordTest, AMissingRecordIsNotFoundAndNamesPrepare) {
  auto loaded = load_prepare_record(dir_);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kNotFound);
  EXPECT_NE(loaded.error().message.find("--prepare"), std::string::npos);
}

TEST_F(PrepareRecordTest, AShardOfAnotherRunCountOrConfigurationIsRefused) {
  const auto record = sample();
  for (const auto& [run_id, shards, hash, what] :
       {std::tuple{"other", 3u, "abc123", "run other"},
        std::tuple{"prep1", 4u, "abc123", "3 shards"},
        std::tuple{"prep1", 3u, "zzz", "another configuration"}}) {
    auto checked = check_prepare_record(record, run_id, shards, hash);
    ASSERT_FALSE(checked) << what;
    EXPECT_EQ(checked.error().code, ErrorCode::kConfigMismatch) << what;
    EXPECT_NE(checked.error().message.find(what), std::string::npos) << checked.error().message;
  }
  auto unfinished = record;
  unfinished.state = PrepareState::kBackedUp;
  auto checked = check_prepare_record(unfinished, "prep1", 3, "abc123");
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kConfigMismatch);
  EXPECT_TRUE(check_prepare_binding(unfinished, "prep1", 3, "abc123"));
}

TEST_F(PrepareRecordTest, AStagedRecordSaysSoAndBindsStagedShardsOnly) {
  auto staged = sample();
  staged.staged = true;
  for (auto& c : staged.collections) c.quarantine_name = c.dropped_at = "";
  EXPECT_EQ(prepare_record_to_json(staged)["staged"], true);
  // An unstaged record has no key, so its checksum is what it was before staged prepares existed.
  EXPECT_FALSE(prepare_record_to_json(sample()).contains("staged"));
  ASSERT_TRUE(write_prepare_record(dir_, staged));
  auto loaded = load_prepare_record(dir_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, staged);
  EXPECT_TRUE(check_prepare_record(*loaded, "prep1", 3, "abc123", true));
  auto unstaged_shard = check_prepare_record(*loaded, "prep1", 3, "abc123", false);
  ASSERT_FALSE(unstaged_shard);
  EXPECT_EQ(unstaged_shard.error().code, ErrorCode::kConfigMismatch);
  EXPECT_NE(unstaged_shard.error().message.find("this shard is not staged"), std::string::npos)
      << unstaged_shard.error().message;
  auto staged_shard = check_prepare_record(sample(), "prep1", 3, "abc123", true);
  ASSERT_FALSE(staged_shard);
  EXPECT_EQ(staged_shard.error().code, ErrorCode::kConfigMismatch);
  EXPECT_NE(staged_shard.error().message.find("without --stage"), std::string::npos)
      << staged_shard.error().message;
}

CollectionInfo collection(const std::string& name, const std::string& id,
                          const std::string& run_id = "") {
  CollectionInfo info;
  info.name = name;
  info.id = id;
  if (!run_id.empty()) info.metadata[kLedgerRunId] = run_id;
  return info;
}

TEST(PreparedCollectionTest, AMergeWritesOnlyTheCollectionItBackedUp) {
  EXPECT_TRUE(check_prepared_collection("docs", LedgerAction::kMerged, "id-docs",
                                        collection("docs", "id-docs"), "prep1"));
  // Another shard already wrote its ledger keys: still the backed-up id.
  EXPECT_TRUE(check_prepared_collection("docs", LedgerAction::kMerged, "id-docs",
                                        collection("docs", "id-docs", "prep1"), "prep1"));
  auto replaced = check_prepared_collection("docs", LedgerAction::kMerged, "id-docs",
                                            collection("docs", "id-new"), "prep1");
  ASSERT_FALSE(replaced);
  EXPECT_EQ(replaced.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(replaced.error().message.find("id-new"), std::string::npos);
  auto gone =
      check_prepared_collection("docs", LedgerAction::kMerged, "id-docs", std::nullopt, "prep1");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kVerifyFailed);
}

TEST(PreparedCollectionTest, AReplacedNameIsFreeOrThisRunsOnly) {
  EXPECT_TRUE(
      check_prepared_collection("old", LedgerAction::kReplaced, "id-old", std::nullopt, "prep1"));
  EXPECT_TRUE(check_prepared_collection("old", LedgerAction::kReplaced, "id-old",
                                        collection("old", "id-fresh", "prep1"), "prep1"));
  auto foreign = check_prepared_collection("old", LedgerAction::kReplaced, "id-old",
                                           collection("old", "id-x"), "prep1");
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(check_prepared_collection("new", LedgerAction::kCreated, "", std::nullopt, "prep1"));
}

// Staged: nothing was dropped, so the live name must still hold the backed-up collection (the
// cutover retains it); gone or another id (also one carrying the run's id) is refused.
TEST(PreparedCollectionTest, AStagedReplaceKeepsTheBackedUpLiveCollection) {
  EXPECT_TRUE(check_prepared_collection("old", LedgerAction::kReplaced, "id-old",
                                        collection("old", "id-old"), "prep1", true));
  auto gone = check_prepared_collection("old", LedgerAction::kReplaced, "id-old", std::nullopt,
                                        "prep1", true);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kVerifyFailed);
  EXPECT_NE(gone.error().message.find("retained at the cutover"), std::string::npos);
  for (const auto& other : {collection("old", "id-x"), collection("old", "id-fresh", "prep1")}) {
    auto refused =
        check_prepared_collection("old", LedgerAction::kReplaced, "id-old", other, "prep1", true);
    ASSERT_FALSE(refused) << other.id;
    EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists) << other.id;
  }
}

}  // namespace
}  // namespace cm
