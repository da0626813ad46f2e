// accepted_drift.json across the shards of a sharded run (issue 15), against real Chroma servers:
// five support tickets cite records that never existed; three mapped shards with a contract and
// --allow-contract-drift each record the dangling references they left to the merged validation,
// the merged work dir gets their union, and the merged validation honours it (PASSED, the five
// counted as accepted at preflight). Without the shards' records the same validation is a WARNING.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

class ShardedAcceptedDrift : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 320;
    o.dimension = 16;
    seed(source_uri(), o);
    write_example_contract(dir_ / "contract.json", 16);
  }
  fs::path shard_dir(int i) const { return dir_ / ("shard-" + std::to_string(i)); }
  ProcessResult shard(int i) const {
    return run_process(
        CHROMA_MIGRATE_BIN,
        {"--source", source_uri(), "--target", target_uri(), "--run-id", "driftrun1", "--mapping",
         std::string(CM_SOURCE_DIR) + "/contracts/examples/flat_to_v2.mapping.json", "--contract",
         (dir_ / "contract.json").string(), "--allow-contract-drift", "--batch-size", "50",
         "--shard", std::to_string(i) + "/3", "--work-dir", shard_dir(i).string()});
  }
  // Points `parent_chunk` (mapped to `cites`) of `n` support tickets at ids that never existed.
  void dangle_in_source(std::size_t n) const {
    auto store = open(source_uri());
    auto info = store->find_collection("support_tickets");
    ASSERT_TRUE(info && *info);
    auto ids = store->list_ids(**info, 0, static_cast<std::uint32_t>(n));
    ASSERT_TRUE(ids);
    auto records = store->get_records(**info, *ids);
    ASSERT_TRUE(records);
    for (auto& r : *records) r.metadata["parent_chunk"] = "never-existed-" + r.id;
    ASSERT_TRUE(store->upsert(**info, *records));
  }
  nlohmann::json validate(int expected_exit) const {
    std::vector<std::string> args;
    for (int i = 0; i < 3; ++i) args.insert(args.end(), {"--work-dir", shard_dir(i).string()});
    const auto run = run_process(CHROMA_VALIDATE_BIN, args);
    EXPECT_EQ(run.exit_code, expected_exit) << run.output;
    const auto report = read_json(shard_dir(0) / "validation_report.json");
    for (const auto& t : report["tests"]) {
      if (t["name"] == "citation_references") return t;
    }
    ADD_FAILURE() << "no citation_references test in " << report.dump(2);
    return {};
  }
};

TEST_F(ShardedAcceptedDrift, ADanglingReferenceAcceptedByAShardIsHonouredByTheMergedValidation) {
  dangle_in_source(5);
  for (int i = 0; i < 3; ++i) {
    const auto run = shard(i);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  std::size_t shards_recording = 0;
  for (int i = 0; i < 3; ++i) shards_recording += fs::exists(shard_dir(i) / "accepted_drift.json");
  EXPECT_GT(shards_recording, 0u);

  const auto honoured = validate(0);
  EXPECT_EQ(honoured["status"], "PASSED") << honoured.dump(2);
  EXPECT_EQ(honoured["figures"]["dangling"], 0);
  EXPECT_EQ(honoured["figures"]["dangling_in_expected_data_accepted"], 5) << honoured.dump(2);
  const auto merged = read_json(shard_dir(0) / "shards-merged" / "accepted_drift.json");
  EXPECT_EQ(merged["run_id"], "driftrun1");
  std::size_t never_existed = 0;
  for (const auto& r : merged["dangling_references"]) {
    never_existed += r["value"].get<std::string>().starts_with("never-existed-");
  }
  EXPECT_EQ(never_existed, 5u) << merged.dump(2);

  // Without the shards' records of the acceptance: a WARNING naming the five.
  for (int i = 0; i < 3; ++i) fs::remove(shard_dir(i) / "accepted_drift.json");
  const auto unaccepted = validate(1);
  EXPECT_EQ(unaccepted["status"], "WARNING") << unaccepted.dump(2);
  EXPECT_EQ(unaccepted["figures"]["dangling_in_expected_data"], 5);
  EXPECT_EQ(unaccepted["figures"]["dangling_in_expected_data_accepted"], 0);
}

}  // namespace
}  // namespace cm::testing
