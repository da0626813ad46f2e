// The VectorStore contract (tests/support/store_conformance.cpp) against a real Chroma server,
// plain and through the factory's decorator stack. The snapshot store and the memory fake pass the
// same suite without a server: tests/unit/store_conformance_unit_test.cpp.
#include "tests/support/store_conformance.hpp"

#include "common/chroma/chroma_http_store.hpp"
#include "common/run/store_factory.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::testing {
namespace {

// One server for the whole binary, started before the first test and stopped after the last.
class ServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto server = ChromaServer::start();
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }
  void TearDown() override { server_.reset(); }
  static inline std::unique_ptr<ChromaServer> server_;
};
[[maybe_unused]] auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new ServerEnvironment);

// Every test gets a database of its own on the shared server.
Result<StoreUri> database_uri(const std::string& unique) {
  if (!ServerEnvironment::server_) return make_error(ErrorCode::kInternal, "no Chroma server");
  return parse_store_uri(ServerEnvironment::server_->url() + "?database=" + unique);
}

StoreFactory http_plain() {
  return {"http",
          [](const std::string& unique,
             const std::filesystem::path&) -> Result<std::unique_ptr<VectorStore>> {
            CM_ASSIGN_OR_RETURN(auto uri, database_uri(unique));
            // The factory creates the database; the store under test is the undecorated one.
            CM_ASSIGN_OR_RETURN(auto creator, open_store(uri, StoreRole::kTarget, {}));
            CM_ASSIGN_OR_RETURN(auto plain, ChromaHttpStore::open(uri));
            return std::unique_ptr<VectorStore>(std::move(plain));
          }};
}

StoreFactory http_decorated() {
  return {"http_decorated",
          [](const std::string& unique,
             const std::filesystem::path&) -> Result<std::unique_ptr<VectorStore>> {
            CM_ASSIGN_OR_RETURN(auto uri, database_uri(unique));
            return open_store(uri, StoreRole::kTarget, {});
          }};
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(http_plain(), http_decorated()), store_factory_name);

}  // namespace
}  // namespace cm::testing
