// Per-store credentials (issue 10, item 11): which token goes to which server, the refusal of one
// token for two servers, and token-checking fake servers that record what each one received.
#include <gtest/gtest.h>

#include "common/run/store_factory.hpp"
#include "tests/support/fake_http_server.hpp"

namespace cm {
namespace {

using testing::FakeHttpServer;

StoreUri uri(const std::string& text) {
  auto parsed = parse_store_uri(text);
  EXPECT_TRUE(parsed) << text;
  return *parsed;
}

TEST(StoreCredentialsTest, OriginIsSchemeHostPort) {
  EXPECT_EQ(store_origin(uri("http://Chroma.example:8000")), "http://chroma.example:8000");
  EXPECT_EQ(store_origin(uri("http://h")), "http://h:80");
  EXPECT_EQ(store_origin(uri("https://h/prefix?database=d")), "https://h:443");
  EXPECT_EQ(store_origin(uri("https://h:443/a")), store_origin(uri("https://h/b")));
  EXPECT_EQ(store_origin(uri("http://user:pw@h:1")), "http://h:1");
  EXPECT_NE(store_origin(uri("http://h:1")), store_origin(uri("https://h:1")));
  EXPECT_EQ(store_origin(uri("snapshot:/tmp/x")), "");
}

TEST(StoreCredentialsTest, PerStoreTokensGoToTheirOwnStoreOnly) {
  const auto a = uri("http://old.internal:8000");
  const auto b = uri("https://api.trychroma.com");
  auto t = resolve_store_tokens({.shared = {}, .source = "A", .target = "B"}, &a, &b);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->source, "A");
  EXPECT_EQ(t->target, "B");
  EXPECT_FALSE(t->shared);
  // Only the target needs one: the source gets none.
  t = resolve_store_tokens({.shared = {}, .source = {}, .target = "B"}, &a, &b);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->source);
  EXPECT_EQ(t->target, "B");
  // Both own tokens set: CHROMA_TOKEN is not used (and not refused).
  t = resolve_store_tokens({.shared = "S", .source = "A", .target = "B"}, &a, &b);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->source, "A");
  EXPECT_EQ(t->target, "B");
}

TEST(StoreCredentialsTest, SharedTokenOnOneHostKeepsWorking) {
  const auto a = uri("http://h:8000?database=old");
  const auto b = uri("http://H:8000/?database=new");
  auto t = resolve_store_tokens({.shared = "S", .source = {}, .target = {}}, &a, &b);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->source, "S");
  EXPECT_EQ(t->target, "S");
  // A per-store token still wins on one host; the shared one fills the gap.
  t = resolve_store_tokens({.shared = "S", .source = {}, .target = "B"}, &a, &b);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->source, "S");
  EXPECT_EQ(t->target, "B");
  // One HTTP store only (snapshot source, or no source at all): it gets the shared token.
  const auto snap = uri("snapshot:/tmp/s");
  t = resolve_store_tokens({.shared = "S", .source = "A", .target = {}}, &snap, &b);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->source);  // a snapshot gets no token
  EXPECT_EQ(t->target, "S");
  t = resolve_store_tokens({.shared = "S", .source = {}, .target = {}}, nullptr, &b);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->target, "S");
  t = resolve_store_tokens({}, &a, &b);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->source);
  EXPECT_FALSE(t->target);
}

TEST(StoreCredentialsTest, SharedTokenForTwoServersIsRefusedNamingTheFix) {
  const auto a = uri("http://old.internal:8000");
  const auto b = uri("https://api.trychroma.com");
  const std::string secret = "shared-secret-xyz";
  for (const StoreTokens& env : {StoreTokens{.shared = secret, .source = {}, .target = {}},
                                 StoreTokens{.shared = secret, .source = "A", .target = {}},
                                 StoreTokens{.shared = secret, .source = {}, .target = "B"}}) {
    auto t = resolve_store_tokens(env, &a, &b);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);  // usage, exit 2
    const auto& m = t.error().message;
    EXPECT_NE(m.find(env.source ? "CHROMA_TARGET_TOKEN" : "CHROMA_SOURCE_TOKEN"), std::string::npos)
        << m;
    EXPECT_EQ(m.find(secret), std::string::npos) << "the token itself is not in the message";
  }
  // Same host, other port: another server.
  const auto c = uri("http://h:8000");
  const auto d = uri("http://h:8001");
  EXPECT_FALSE(resolve_store_tokens({.shared = "S", .source = {}, .target = {}}, &c, &d));
}

// Two token-checking fake servers on two ports (two origins): each store, opened through the
// factory with the resolved tokens, authenticates, and each server only ever saw its own token.
TEST(StoreCredentialsTest, EachFakeServerSeesOnlyItsOwnToken) {
  FakeHttpServer source_server;
  FakeHttpServer target_server;
  ASSERT_TRUE(source_server.ok() && target_server.ok());
  source_server.require_token("token-A");
  target_server.require_token("token-B");
  source_server.set_fallback({200, "[]", std::chrono::milliseconds(0), false});
  target_server.set_fallback({200, "[]", std::chrono::milliseconds(0), false});
  const auto src = uri(source_server.url());
  const auto dst = uri(target_server.url());

  auto tokens = resolve_store_tokens(
      {.shared = "token-S", .source = "token-A", .target = "token-B"}, &src, &dst);
  ASSERT_TRUE(tokens) << tokens.error().message;
  StoreOpenOptions options;
  options.retry.max_attempts = 1;
  options.token = tokens->source;
  auto source = open_store(src, StoreRole::kSource, options);
  ASSERT_TRUE(source);
  options.token = tokens->target;
  auto target = open_store(dst, StoreRole::kTarget, options);
  ASSERT_TRUE(target);
  ASSERT_TRUE((*source)->list_collections());
  ASSERT_TRUE((*target)->list_collections());

  for (const auto& [server, own] :
       {std::pair{&source_server, "token-A"}, std::pair{&target_server, "token-B"}}) {
    const auto seen = server->requests();
    ASSERT_FALSE(seen.empty());
    for (const auto& r : seen) {
      EXPECT_EQ(r.headers.at("x-chroma-token"), own);
      EXPECT_EQ(r.headers.at("authorization"), std::string("Bearer ") + own);
      for (const auto& [name, value] : r.headers) {
        for (const char* other : {"token-A", "token-B", "token-S"}) {
          if (std::string(other) != own) {
            EXPECT_EQ(value.find(other), std::string::npos) << name << ": " << value;
          }
        }
      }
    }
  }

  // The wrong token is refused by the checking server (the fake behaves like an auth'd Chroma).
  options.token = "token-A";
  auto wrong = open_store(dst, StoreRole::kSource, options);
  ASSERT_TRUE(wrong);
  auto refused = (*wrong)->list_collections();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kRejected) << refused.error().message;
}

}  // namespace
}  // namespace cm
