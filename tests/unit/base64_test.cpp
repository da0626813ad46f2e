#include "common/base/base64.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace cm {
namespace {

std::span<const unsigned char> bytes_of(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(bytes_of("")), "");
  EXPECT_EQ(base64_encode(bytes_of("f")), "Zg==");
  EXPECT_EQ(base64_encode(bytes_of("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(bytes_of("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(bytes_of("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(bytes_of("fooba")), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(bytes_of("foobar")), "Zm9vYmFy");
}

TEST(Base64Test, ChromaEmbeddingExample) {
  // From Chroma's API facts: this string stores [1.5, -2, 3.25, 0.5].
  std::vector<float> v{1.5f, -2.0f, 3.25f, 0.5f};
  std::string out;
  embedding_to_base64_append(v, &out);
  EXPECT_EQ(out, "AADAPwAAAMAAAFBAAAAAPw==");
  auto back = embedding_from_base64(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, v);
}

TEST(Base64Test, RoundTripsRandomBytesBitExactly) {
  std::mt19937 rng(7);
  for (int len = 0; len < 64; ++len) {
    std::vector<unsigned char> data(static_cast<std::size_t>(len));
    for (auto& b : data) b = static_cast<unsigned char>(rng());
    auto decoded = base64_decode(base64_encode(data));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, data);
  }
  // Special float values keep their exact bits (NaN payloads, -0, denormals).
  std::vector<float> specials{-0.0f, 1e-45f, 3.4028235e38f};
  std::string text;
  embedding_to_base64_append(specials, &text);
  auto back = embedding_from_base64(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::memcmp(back->data(), specials.data(), specials.size() * 4), 0);
}

TEST(Base64Test, RejectsMalformed) {
  EXPECT_FALSE(base64_decode("abc"));           // length not a multiple of 4
  EXPECT_FALSE(base64_decode("ab!d"));          // outside alphabet
  EXPECT_FALSE(base64_decode("a=bc"));          // padding in the middle
  EXPECT_FALSE(base64_decode("Zg==Zg=="));      // padding before the end
  EXPECT_FALSE(embedding_from_base64("Zm9v"));  // 3 bytes: not a whole float32
}

}  // namespace
}  // namespace cm
