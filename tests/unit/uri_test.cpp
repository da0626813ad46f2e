#include "common/store/uri.hpp"

#include <gtest/gtest.h>

namespace cm {
namespace {

TEST(UriTest, HttpWithDefaults) {
  auto uri = parse_store_uri("http://localhost:8000/");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->kind, StoreUri::Kind::kHttp);
  EXPECT_EQ(uri->base_url, "http://localhost:8000");
  EXPECT_EQ(uri->tenant, "default_tenant");
  EXPECT_EQ(uri->database, "default_database");
}

TEST(UriTest, TenantAndDatabaseFromQuery) {
  auto uri = parse_store_uri("https://db.example:443/prefix?tenant=acme&database=prod%20db");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->base_url, "https://db.example:443/prefix");
  EXPECT_EQ(uri->tenant, "acme");
  EXPECT_EQ(uri->database, "prod db");
}

TEST(UriTest, RedactsCredentials) {
  auto uri = parse_store_uri("http://admin:s3cret@host:8000?tenant=t");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->redacted().find("s3cret"), std::string::npos);
  EXPECT_NE(uri->redacted().find("***@host:8000"), std::string::npos);
  EXPECT_NE(uri->redacted().find("tenant=t"), std::string::npos);
}

TEST(UriTest, SnapshotForms) {
  for (const char* text : {"snapshot:/tmp/snap", "file:///tmp/snap", "/tmp/snap"}) {
    auto uri = parse_store_uri(text);
    ASSERT_TRUE(uri) << text;
    EXPECT_EQ(uri->kind, StoreUri::Kind::kSnapshot);
    EXPECT_EQ(uri->snapshot_dir, std::filesystem::path("/tmp/snap")) << text;
  }
}

TEST(UriTest, PersistDirectoryWithAndWithoutNamespace) {
  auto plain = parse_store_uri("persist:/var/lib/chroma");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->kind, StoreUri::Kind::kPersist);
  EXPECT_EQ(plain->persist_dir, std::filesystem::path("/var/lib/chroma"));
  EXPECT_EQ(plain->tenant, "default_tenant");
  EXPECT_EQ(plain->database, "default_database");
  EXPECT_EQ(plain->redacted(), "persist:/var/lib/chroma");
  auto named = parse_store_uri("persist:data/chroma?tenant=acme&database=prod%20db");
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->persist_dir, std::filesystem::path("data/chroma"));
  EXPECT_EQ(named->tenant, "acme");
  EXPECT_EQ(named->database, "prod db");
  auto again = parse_store_uri(named->redacted());  // describe() form: read back by later steps
  ASSERT_TRUE(again) << named->redacted();
  EXPECT_EQ(again->persist_dir, named->persist_dir);
  EXPECT_EQ(again->tenant, "acme");
}

TEST(UriTest, RejectsBadInputWithReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"ftp://host", "unsupported scheme"},
      {"http://host:99999", "port"},
      {"http://host:abc", "port"},
      {"http://:8000", "host"},
      {"http://host:8000?tenant=", "empty"},
      {"http://host:8000?colour=red", "unknown query parameter 'colour'"},
      {"http://host:8000?tenant=%zz", "%-escape"},
      {"snapshot:", "path is empty"},
      {"persist:", "persist directory is empty"},
      {"persist:?tenant=t", "persist directory is empty"},
      {"persist:/d?colour=red", "unknown query parameter 'colour'"},
  };
  for (const auto& c : cases) {
    auto uri = parse_store_uri(c.text);
    ASSERT_FALSE(uri) << c.text;
    EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(uri.error().message.find(c.reason), std::string::npos)
        << c.text << " -> " << uri.error().message;
  }
}

}  // namespace
}  // namespace cm
