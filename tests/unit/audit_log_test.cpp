// The audit trail (common/store/audit_log.hpp) through the auditing decorator: one parseable JSON
// line per mutating call with what was done and how it ended; reads leave no trace; a line that
// cannot be written fails the call.
#include "common/store/audit_log.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/chroma_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using testing::MemoryStore;

std::vector<nlohmann::json> read_lines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << "not JSON: " << line;
    out.push_back(json);
  }
  return out;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("audit");
    file_ = dir_ / "logs" / "audit.jsonl";
    auto inner = std::make_unique<MemoryStore>("audited");
    raw_ = inner.get();
    store_ = std::make_unique<AuditingStore>(std::move(inner), AuditLog::open(file_, "run-42"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_, file_;
  MemoryStore* raw_ = nullptr;
  std::unique_ptr<AuditingStore> store_;
};

TEST_F(AuditLogTest, OneLinePerMutatingCallAndNoneForReads) {
  auto c = store_->create_collection({"coll", {}, {}, {}});
  ASSERT_TRUE(c);
  std::vector<Record> rs{{"a", {1.0f, 0.0f}, std::nullopt, {}},
                         {"b", {0.0f, 1.0f}, std::nullopt, {}},
                         {"c", {1.0f, 1.0f}, std::nullopt, {}}};
  ASSERT_TRUE(store_->upsert(*c, rs));
  // Reads of every kind: none of them may be audited.
  std::vector<std::string> ids{"a", "b"};
  std::vector<std::vector<float>> q{{1.0f, 0.0f}};
  ASSERT_TRUE(store_->list_collections());
  ASSERT_TRUE(store_->find_collection("coll"));
  ASSERT_TRUE(store_->count(*c));
  ASSERT_TRUE(store_->list_ids(*c, 0, 10));
  ASSERT_TRUE(store_->get_records(*c, ids));
  ASSERT_TRUE(store_->query(*c, q, 2));
  ASSERT_TRUE(store_->limits());
  std::vector<std::string> gone{"b"};
  ASSERT_TRUE(store_->delete_records(*c, gone));
  ASSERT_TRUE(store_->update_collection_metadata(*c, {{"k", std::string("v")}}));
  ASSERT_TRUE(store_->rename_collection(*c, "coll2"));
  ASSERT_TRUE(store_->delete_collection("coll2"));

  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 6u);
  std::vector<std::string> actions;
  for (const auto& l : lines) {
    actions.push_back(l.value("action", ""));
    EXPECT_EQ(l.value("run_id", ""), "run-42");
    EXPECT_EQ(l.value("actor", ""), current_actor());
    EXPECT_EQ(l.value("store", ""), "memory:audited");
    EXPECT_EQ(l.value("outcome", ""), "ok");
    EXPECT_FALSE(l.value("time", "").empty());
    EXPECT_FALSE(l.contains("error"));
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"create_collection", "upsert", "delete_records",
                                               "update_collection_metadata", "rename_collection",
                                               "delete_collection"}));
  EXPECT_EQ(lines[0]["collection"], "coll");
  EXPECT_EQ(lines[1]["records"], 3);
  EXPECT_EQ(lines[2]["records"], 1);
  EXPECT_EQ(lines[4]["collection"], "coll");
  EXPECT_EQ(lines[4]["new_name"], "coll2");
  EXPECT_EQ(lines[4]["collection_id"], c->id);
  EXPECT_EQ(lines[5]["collection"], "coll2");
}

TEST_F(AuditLogTest, FailedCallsAreAuditedWithTheirError) {
  auto c = store_->create_collection({"coll", {}, {}, {}});
  ASSERT_TRUE(c);
  raw_->fail("upsert", {ErrorCode::kRejected, "server said no", 400});
  std::vector<Record> rs{{"a", {1.0f}, std::nullopt, {}}};
  auto status = store_->upsert(*c, rs);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kRejected);  // the store's error, unchanged
  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["action"], "upsert");
  EXPECT_EQ(lines[1]["outcome"], "error");
  EXPECT_EQ(lines[1]["error"], "server said no");
  EXPECT_EQ(lines[1]["records"], 1);
}

TEST_F(AuditLogTest, ReadsAloneCreateNoFile) {
  ASSERT_TRUE(store_->list_collections());
  ASSERT_TRUE(store_->find_collection("nothing"));
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(AuditLogTest, AnUnwritableLogFailsTheCallInsteadOfLosingTheLine) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "blocker") << "a file where the log's directory should be";
  auto inner = std::make_unique<MemoryStore>();
  auto* raw = inner.get();
  AuditingStore store(std::move(inner), AuditLog::open(dir_ / "blocker" / "audit.jsonl", "r"));
  auto created = store.create_collection({"coll", {}, {}, {}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kIo) << created.error().message;
  EXPECT_EQ(raw->calls("create_collection"), 1u);  // it reached the store; the trail failed
}

TEST(AuditLogConcurrencyTest, ConcurrentAppendsLandAsWholeLines) {
  auto dir = testing::make_temp_dir("audit-mt");
  auto log = AuditLog::open(dir / "audit.jsonl", "run-mt");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i)
        EXPECT_TRUE(log->append({{"action", "upsert"}, {"n", t * 100 + i}}));
    });
  }
  for (auto& th : threads) th.join();
  auto lines = read_lines(dir / "audit.jsonl");
  EXPECT_EQ(lines.size(), 100u);
  std::set<int> ns;
  for (const auto& l : lines) ns.insert(l.value("n", -1));
  EXPECT_EQ(ns.size(), 100u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cm
