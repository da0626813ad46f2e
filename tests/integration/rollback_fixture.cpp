#include "tests/integration/rollback_fixture.hpp"

#include <fstream>
#include <set>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_manifest.hpp"

namespace cm::testing {

void RollbackIntegration::SetUp() {
  MigrateIntegration::SetUp();
  corpus::CorpusOptions o;
  o.total_records = 240;
  o.dimension = 8;
  seed(source_uri(), o);
  source_before_ = state_of(source_uri());
  ASSERT_EQ(source_before_.size(), 4u);
}

void RollbackIntegration::seed_target(std::size_t collections, std::size_t records) {
  corpus::CorpusOptions old;
  old.total_records = records;
  old.collections = collections;
  old.dimension = 8;
  old.seed = 99;
  seed(target_uri(), old);
}

ProcessResult RollbackIntegration::tool(const std::string& binary, std::vector<std::string> args,
                                        const std::map<std::string, std::string>& env,
                                        const std::filesystem::path& work) const {
  args.insert(args.begin(), {"--work-dir", (work.empty() ? work_dir() : work).string()});
  return run_process(binary, args, env);
}

ProcessResult RollbackIntegration::validate(const std::filesystem::path& work) const {
  return tool(CHROMA_VALIDATE_BIN, {"--sample", "10"}, {}, work);
}

ProcessResult RollbackIntegration::rollback(const std::vector<std::string>& args,
                                            const std::map<std::string, std::string>& env) const {
  return tool(CHROMA_ROLLBACK_BIN, args, env);
}

RunManifest RollbackIntegration::manifest() const {
  auto store = RunManifestStore::load(work_dir() / "run.json");
  EXPECT_TRUE(store) << store.error().message;
  return store ? (*store)->get() : RunManifest{};
}

nlohmann::json RollbackIntegration::rollback_report() const {
  auto text = read_file(work_dir() / "rollback_report.json");
  EXPECT_TRUE(text) << "no rollback_report.json";
  return text ? nlohmann::json::parse(*text) : nlohmann::json();
}

void RollbackIntegration::delete_one_record(const std::string& collection) const {
  auto store = open(target_uri());
  auto info = store->find_collection(collection);
  ASSERT_TRUE(info && *info) << collection;
  auto ids = store->list_ids(**info, 3, 1);
  ASSERT_TRUE(ids && ids->size() == 1);
  ASSERT_TRUE(store->delete_records(**info, *ids));
}

void RollbackIntegration::perturb_one_vector(const std::string& collection) const {
  auto store = open(target_uri());
  auto info = store->find_collection(collection);
  ASSERT_TRUE(info && *info) << collection;
  auto ids = store->list_ids(**info, 5, 1);
  ASSERT_TRUE(ids && ids->size() == 1);
  auto records = store->get_records(**info, *ids);
  ASSERT_TRUE(records && records->size() == 1);
  for (auto& x : (*records)[0].embedding) x = -x * 1.5f + 0.25f;
  ASSERT_TRUE(store->upsert(**info, *records));
}

std::filesystem::path RollbackIntegration::corrupt_backup_part() const {
  const auto dir = work_dir() / "snapshots" / "backup";
  auto text = read_file(dir / "manifest.json");
  EXPECT_TRUE(text);
  auto manifest = parse_manifest(text ? *text : "");
  EXPECT_TRUE(manifest && !manifest->collections.empty());
  if (!manifest || manifest->collections.empty()) return {};
  const auto& c = manifest->collections.front();
  const auto part = dir / "collections" / c.info.name / c.parts.front().file;
  std::fstream f(part, std::ios::in | std::ios::out | std::ios::binary);
  EXPECT_TRUE(f) << part;
  const auto at = static_cast<std::streamoff>(c.parts.front().bytes / 2);
  f.seekg(at);
  char byte = 0;
  f.get(byte);
  f.seekp(at);
  f.put(static_cast<char>(byte ^ 0x5a));
  return part;
}

std::string RollbackIntegration::listing(const std::filesystem::path& dir) {
  std::set<std::string> lines;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string line = std::filesystem::relative(e.path(), dir).string();
    if (line == ".lock") continue;  // the work-dir lock: every invocation that may write takes it
    if (e.is_regular_file()) {
      line += " " + std::to_string(e.file_size()) + " " +
              std::to_string(e.last_write_time().time_since_epoch().count());
    }
    lines.insert(line);
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void RollbackIntegration::expect_clean_remigration(const std::vector<std::string>& flags) const {
  const auto fresh = dir_ / "work-again";
  std::vector<std::string> args{"--source",   source_uri(),   "--target",        target_uri(),
                                "--work-dir", fresh.string(), "--retry-base-ms", "20"};
  args.insert(args.end(), flags.begin(), flags.end());
  auto again = run_process(CHROMA_MIGRATE_BIN, args);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  auto v = validate(fresh);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

void RollbackIntegration::expect_rolled_back(const ProcessResult& run,
                                             const StoreState& before) const {
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // Exactly as before: the run-ledger keys (migration_*) must be gone too.
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
  EXPECT_EQ(diff_text(source_before_, state_of(source_uri()), false), "");
  auto report = rollback_report();
  EXPECT_EQ(report["status"], "ROLLED_BACK") << report.dump(2);
  EXPECT_TRUE(report["verification"]["ok"].get<bool>());
  EXPECT_EQ(report["verification"]["record_mismatches"], 0);
  EXPECT_EQ(report["verification"]["source"]["status"], "ok") << report["verification"].dump(2);
  EXPECT_TRUE(std::filesystem::exists(work_dir() / "rollback_report.md"));
  EXPECT_TRUE(std::filesystem::exists(work_dir() / "rollback_report.html"));
  EXPECT_NE(manifest().rolled_back_at, "");
  EXPECT_NE(run.output.find("rollback_report.json"), std::string::npos) << run.output;
}

}  // namespace cm::testing
