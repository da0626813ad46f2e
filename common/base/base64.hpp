// Standard padded base64 (RFC 4648 §4). Chroma accepts an embedding as the base64 of its
// little-endian float32 bytes, which is ~4x smaller than decimal JSON and needs no float
// formatting.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cm {

void base64_encode_append(std::span<const unsigned char> bytes, std::string* out);
std::string base64_encode(std::span<const unsigned char> bytes);
// nullopt on characters outside the alphabet, bad padding or a length that is not a multiple of 4.
std::optional<std::vector<unsigned char>> base64_decode(std::string_view text);

// Embedding helpers: float32 little-endian bytes <-> base64.
void embedding_to_base64_append(std::span<const float> values, std::string* out);
std::optional<std::vector<float>> embedding_from_base64(std::string_view text);

}  // namespace cm
