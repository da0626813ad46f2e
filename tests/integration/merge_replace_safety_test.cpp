// Destructive steps and merges that can never lose what they did not back up, against real
// servers (issue 10, items 1 and 2):
//  - --if-exists replace proves identity before it deletes: killed right after the server deleted
//    the collection, a collection an application re-creates under the same name survives the
//    resume (exit 9, nothing of it deleted); records written between the backup and the delete
//    make the run refuse (exit 9) instead of deleting them;
//  - a merge whose upsert the server refuses leaves every pre-existing record as it was, and a
//    merge that succeeds ends each record exactly as transformed (stale keys and documents gone).
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/cli/exit_codes.hpp"
#include "common/store/embedding_compare.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class MergeReplaceSafety : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 100;
    o.collections = 1;  // kb_articles (cosine)
    o.dimension = 8;
    seed(source_uri(), o);
    source_ = state_of(source_uri());
    ASSERT_EQ(source_.size(), 1u);
    name_ = source_.begin()->first;
  }
  // The target's `name_` with `records`; returns the collection.
  CollectionInfo target_with(const std::vector<Record>& records) {
    auto target = open(target_uri());
    CollectionSpec spec{name_, {{"owner", std::string("app")}}, {}, {}};
    spec.hnsw.space = source_.at(name_).info.hnsw.space;
    auto created = target->create_collection(spec);
    EXPECT_TRUE(created) << created.error().message;
    EXPECT_TRUE(target->upsert(*created, records));
    return *created;
  }
  // 5 records with source ids (other content) and 5 foreign ones.
  std::vector<Record> ten_existing() {
    std::vector<Record> out;
    const auto& src = source_.at(name_).records;
    for (int i = 0; i < 5; ++i) {
      Record r = src.at(static_cast<std::size_t>(i) * 7);
      r.embedding.assign(8, 0.125f * static_cast<float>(i + 1));
      r.document = "old version " + std::to_string(i);
      r.metadata["stale_key"] = std::string("old");
      out.push_back(std::move(r));
    }
    for (int i = 0; i < 5; ++i) {
      out.push_back({"foreign-" + std::to_string(i),
                     std::vector<float>(8, 0.5f + 0.01f * static_cast<float>(i)),
                     "foreign",
                     {{"n", std::int64_t{i}}}});
    }
    return out;
  }
  static std::vector<Record> sorted(std::vector<Record> records) {
    std::sort(records.begin(), records.end(),
              [](const Record& a, const Record& b) { return a.id < b.id; });
    return records;
  }

  StoreState source_;
  std::string name_;
};

TEST_F(MergeReplaceSafety, ARejectedMergeLeavesEveryExistingRecordUnchanged) {
  target_with(ten_existing());
  const auto before = state_of(target_uri());
  ASSERT_EQ(before.at(name_).count, 10u);
  // One batch holds every overlapping id: the server refuses its upsert.
  auto run = migrate({"--if-exists", "merge", "--batch-size", "1000"},
                     {{"CHROMA_MIGRATE_FAULTS", "target.upsert=reject@1"}});
  EXPECT_EQ(run.exit_code, kExitRejected) << run.output;
  const auto after = state_of(target_uri());
  ASSERT_EQ(after.at(name_).count, 10u) << "a refused merge must not shrink the collection";
  EXPECT_EQ(sorted(after.at(name_).records), sorted(before.at(name_).records))
      << "every pre-existing record stays exactly as it was";
}

TEST_F(MergeReplaceSafety, AMergeEndsEachRecordExactlyAsTransformed) {
  // A source record without a document over a target record with one, one without a uri over one
  // with a uri, and stale keys: upsert alone would keep the old document, uri and stale key.
  auto source = open(source_uri());
  auto src_info = source->find_collection(name_);
  ASSERT_TRUE(src_info && *src_info);
  Record bare{"no-document", std::vector<float>(8, 0.25f), std::nullopt, {{"a", std::int64_t{1}}}};
  Record no_uri{"no-uri", std::vector<float>(8, 0.5f), "doc", {{"a", std::int64_t{2}}}};
  ASSERT_TRUE(source->upsert(**src_info, std::vector<Record>{bare, no_uri}));
  source_ = state_of(source_uri());
  auto existing = ten_existing();
  existing.push_back({"no-document",
                      std::vector<float>(8, 0.75f),
                      "old document",
                      {{"a", std::int64_t{0}}, {"stale", true}}});
  Record old_uri{"no-uri", std::vector<float>(8, 0.75f), "doc", {{"a", std::int64_t{0}}}};
  old_uri.uri = "s3://old/location.png";
  existing.push_back(old_uri);
  target_with(existing);

  auto run = migrate({"--if-exists", "merge", "--batch-size", "30"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto after = state_of(target_uri());
  EXPECT_EQ(after.at(name_).count, source_.at(name_).count + 5) << "source + 5 foreign records";
  std::map<std::string, Record> landed;
  for (const auto& r : after.at(name_).records) landed[r.id] = r;
  for (const auto& r : source_.at(name_).records) {
    ASSERT_TRUE(landed.contains(r.id)) << r.id;
    const Record& got = landed.at(r.id);
    // Cosine: the server may answer a stored vector as v/|v|*|v| (1 ulp away); the suite's rule.
    EXPECT_TRUE(compare_embeddings(source_.at(name_).info.hnsw.space, r.embedding, got.embedding)
                    .equivalent)
        << r.id;
    EXPECT_EQ(got.document, r.document) << r.id;
    EXPECT_EQ(got.uri, r.uri) << r.id;
    std::string keys_got, keys_want;
    for (const auto& [k, v] : got.metadata) keys_got += k + " ";
    for (const auto& [k, v] : r.metadata) keys_want += k + " ";
    EXPECT_EQ(keys_got, keys_want) << r.id;
    EXPECT_TRUE(got.metadata == r.metadata) << r.id << ": metadata values differ";
  }
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(landed.contains("foreign-" + std::to_string(i)));
}

TEST_F(MergeReplaceSafety, ReplaceKilledAfterTheDeleteNeverDeletesACollectionRecreatedMeanwhile) {
  target_with(ten_existing());
  auto killed = migrate({"--if-exists", "replace"},
                        {{"CHROMA_MIGRATE_FAULTS", "target.delete_collection=crash@1"}});
  ASSERT_TRUE(killed.signaled) << killed.output;
  // An application re-creates the collection under the same name and writes to it.
  auto target = open(target_uri());
  ASSERT_FALSE(*target->find_collection(name_)) << "the crash came after the server's delete";
  CollectionSpec spec{name_, {}, {}, {}};
  auto app = target->create_collection(spec);
  ASSERT_TRUE(app);
  ASSERT_TRUE(target->upsert(
      *app, std::vector<Record>{{"app-0", std::vector<float>(8, 0.5f), "written by the app", {}}}));

  auto resumed = migrate({"--if-exists", "replace", "--resume"});
  EXPECT_EQ(resumed.exit_code, kExitConflict) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, name_)) << resumed.output;
  auto now = target->find_collection(name_);
  ASSERT_TRUE(now && *now) << "the application's collection was deleted";
  EXPECT_EQ((*now)->id, app->id);
  auto got = target->get_records(**now, std::vector<std::string>{"app-0"});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 1u) << "app-0 was lost";
}

TEST_F(MergeReplaceSafety, ReplaceRefusesToDeleteWritesMadeAfterTheBackup) {
  auto info = target_with(ten_existing());
  // Both the old delete and the new quarantine rename fail (transient, every attempt): the run
  // stops after the verified backup with nothing removed.
  const std::vector<std::string> flags{"--if-exists", "replace", "--max-attempts", "2"};
  auto stopped = migrate(flags, {{"CHROMA_MIGRATE_FAULTS",
                                  "target.delete_collection=transient@1-2;"
                                  "target.rename_collection=transient@1-2"}});
  ASSERT_EQ(stopped.exit_code, kExitUnavailable) << stopped.output;
  ASSERT_TRUE(
      nlohmann::json::parse(*read_file(work_dir() / "run.json"))["backup"].contains("verified_at"));
  // Live traffic writes to the collection after its backup.
  auto target = open(target_uri());
  ASSERT_TRUE(target->upsert(
      info, std::vector<Record>{{"late-0", std::vector<float>(8, 0.3f), "late write", {}}}));

  auto resumed = migrate({"--if-exists", "replace", "--max-attempts", "2", "--resume"});
  EXPECT_EQ(resumed.exit_code, kExitConflict) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, name_)) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, "11 records")) << "says what differs\n" << resumed.output;
  auto now = target->find_collection(name_);
  ASSERT_TRUE(now && *now);
  EXPECT_EQ((*now)->id, info.id) << "the collection was not replaced";
  auto got = target->get_records(**now, std::vector<std::string>{"late-0"});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 1u) << "the write after the backup was lost";
  EXPECT_EQ(*target->count(**now), 11u);
}

TEST_F(MergeReplaceSafety, ReplaceStillReplacesAnUnchangedCollection) {
  target_with(ten_existing());
  auto run = migrate({"--if-exists", "replace"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
  auto m = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
  EXPECT_NE(m["target_collections"][0]["backed_up_id"], "");
  EXPECT_EQ(m["target_collections"][0]["quarantine_name"],
            name_ + ".quarantine-" + m["run_id"].get<std::string>());
}

}  // namespace
}  // namespace cm::testing
