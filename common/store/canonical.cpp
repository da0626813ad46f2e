#include "common/store/canonical.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack: no allocation per record
#include <xxhash.h>

static_assert(std::endian::native == std::endian::little,
              "digests hash in-memory float32 and u64 values as little-endian bytes");

namespace cm {
namespace {

void update_u64(XXH3_state_t* state, std::uint64_t value) {
  XXH3_64bits_update(state, &value, sizeof value);
}

void update_bytes(XXH3_state_t* state, const void* data, std::size_t size) {
  update_u64(state, size);
  if (size > 0) XXH3_64bits_update(state, data, size);
}

// Appends `text`, valid UTF-8, as nlohmann's dump(ensure_ascii = false) writes it: quoted, with
// '"', '\\' and the control characters below 0x20 escaped, everything else as is.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

bool all_valid_utf8(const Metadata& metadata) {
  for (const auto& [key, value] : metadata) {
    if (!is_valid_utf8(key)) return false;
    const auto* text = std::get_if<std::string>(&value);
    if (text && !is_valid_utf8(*text)) return false;
  }
  return true;
}

}  // namespace

std::string canonical_metadata_json(const Metadata& metadata) {
  if (metadata.empty()) return "{}";
  if (!all_valid_utf8(metadata)) {
    // nlohmann's object is a std::map<std::string, ...> with the same byte-wise key order as
    // Metadata; its `replace` handler is the definition of how invalid UTF-8 is written.
    return metadata_to_json(metadata).dump(-1, ' ', /*ensure_ascii=*/false,
                                           nlohmann::json::error_handler_t::replace);
  }
  // The same bytes as the dump above, without building a JSON tree per record (this runs once per
  // record on every snapshot write and verification). Floats are still printed by nlohmann
  // (shortest round-trip form, ".0" added to integral values, null when not finite) so that the
  // digests of snapshots written before stay what they were; canonical_test compares the two.
  std::string out = "{";
  for (const auto& [key, value] : metadata) {
    if (out.size() > 1) out += ',';
    append_json_string(out, key);
    out += ':';
    switch (value_type_of(value)) {
      case ValueType::kString:
        append_json_string(out, std::get<std::string>(value));
        break;
      case ValueType::kInt:
        out += std::to_string(std::get<std::int64_t>(value));
        break;
      case ValueType::kFloat:
        out += nlohmann::json(std::get<double>(value)).dump();
        break;
      case ValueType::kBool:
        out += std::get<bool>(value) ? "true" : "false";
        break;
    }
  }
  out += '}';
  return out;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;  // continuation byte in lead position, overlong 2-byte lead, or > U+10FFFF
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Reject overlong 3/4-byte forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    i += len;
  }
  return true;
}

std::optional<std::string> metadata_not_representable_reason(const Metadata& metadata) {
  for (const auto& [key, value] : metadata) {
    if (!is_valid_utf8(key)) return "metadata key is not valid UTF-8";
    if (const auto* s = std::get_if<std::string>(&value); s && !is_valid_utf8(*s)) {
      return "metadata key '" + key + "' holds a string that is not valid UTF-8";
    }
    if (const auto* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
      return "metadata key '" + key + "' holds a non-finite float";
    }
  }
  return std::nullopt;
}

std::uint64_t record_digest(const Record& record) {
  return record_digest(record, canonical_metadata_json(record.metadata));
}

std::uint64_t record_digest(const Record& record, std::string_view canonical_metadata) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  update_bytes(&state, record.id.data(), record.id.size());
  update_bytes(&state, record.embedding.data(), record.embedding.size() * sizeof(float));
  const unsigned char flag = record.document ? 1 : 0;
  XXH3_64bits_update(&state, &flag, 1);
  if (record.document) {
    update_bytes(&state, record.document->data(), record.document->size());
  } else {
    update_u64(&state, 0);
  }
  update_bytes(&state, canonical_metadata.data(), canonical_metadata.size());
  // The uri is framed only when present, so the digest of a record without a uri (every record
  // of a format-1 snapshot) is what it was before uris were kept.
  if (record.uri) {
    const unsigned char uri_flag = 1;
    XXH3_64bits_update(&state, &uri_flag, 1);
    update_bytes(&state, record.uri->data(), record.uri->size());
  }
  return XXH3_64bits_digest(&state);
}

std::string content_digest(std::vector<std::uint64_t> record_digests) {
  std::sort(record_digests.begin(), record_digests.end());
  const XXH128_hash_t h =
      XXH3_128bits(record_digests.data(), record_digests.size() * sizeof(std::uint64_t));
  return hex64(h.high64) + hex64(h.low64);
}

std::uint64_t xxh3_64(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

std::string xxh3_64_hex(std::string_view bytes) {
  return hex64(xxh3_64(bytes));
}

std::string hex64(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xFu];
    value >>= 4;
  }
  return out;
}

std::optional<std::uint64_t> parse_hex64(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    unsigned d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = (value << 4) | d;
  }
  return value;
}

IdHash id_hash(std::string_view id) {
  const XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return IdHash{h.low64, h.high64};
}

}  // namespace cm
