// The SYNTHETIC Chroma 0.x directories (tests/data/persist/synthetic-0.x.tar.gz, see
// make_synthetic.py there) migrated end to end into a real Chroma 1.0.5 server, each version into a
// database of its own (and the second tenant's database too), then validated PASSED against the
// directory as a live source. What each record must hold is checked by
// tests/unit/persist_synthetic_test.cpp; this checks the whole path through chroma-migrate and
// chroma-validate.
#include <gtest/gtest.h>

#include "tests/support/chroma_server.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

TEST(PersistSyntheticMigrate, EveryVersionMigratesAndValidates) {
  const fs::path dir = make_temp_dir("persist-synthetic-it");
  auto tar = run_process(
      "/bin/tar", {"-xzf", std::string(CM_SOURCE_DIR) + "/tests/data/persist/synthetic-0.x.tar.gz",
                   "-C", dir.string()});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  auto target = ChromaServer::start();
  ASSERT_TRUE(target) << target.error().message;
  struct Case {
    std::string version, query, database;
  };
  const Case cases[] = {{"0.4.14", "", "v0414"},
                        {"0.4.24", "?tenant=acme&database=prod", "v0424acme"},
                        {"0.5.3", "", "v053"},
                        {"0.5.5", "", "v055"},
                        {"0.6.3", "", "v063"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.version + c.query);
    const std::string source = "persist:" + (dir / c.version).string() + c.query;
    const fs::path work = dir / ("work-" + c.database);
    auto migrate = run_process(CHROMA_MIGRATE_BIN, {"--source", source, "--target",
                                                    (*target)->url() + "?database=" + c.database,
                                                    "--work-dir", work.string()});
    ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
    auto validate =
        run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work.string(), "--source", source});
    EXPECT_EQ(validate.exit_code, 0) << validate.output;
    EXPECT_NE(validate.output.find("overall status:     PASSED"), std::string::npos)
        << validate.output;
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace cm::testing
