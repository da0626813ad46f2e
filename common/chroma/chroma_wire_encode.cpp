// Encoding of Chroma request bodies by appending to one string: an upsert of 1000 x 384-dim
// records is ~1.6 MB (base64) to ~4 MB (decimal) and building a DOM for it first would double
// the work and the memory.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/base/base64.hpp"
#include "common/chroma/chroma_wire.hpp"

namespace cm {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid (overlong
// forms, surrogates and code points beyond U+10FFFF are invalid, as RFC 3629 says).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  auto cont = [&](std::size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
  const unsigned c = byte(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return byte(1) >= lo && byte(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return byte(1) >= lo && byte(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void append_float(float v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");  // no JSON spelling; the server rejects the request (see header)
    return;
  }
  char buf[32];
  auto result = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as v
  out->append(buf, result.ptr);
}

void append_double(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[40];
  auto result = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<std::size_t>(result.ptr - buf));
  out->append(text);
  // "1" would read back as an int: a float must keep a fraction or an exponent.
  if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

void append_int(std::int64_t v, std::string* out) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, result.ptr);
}

void append_string_array(std::span<const std::string> values, std::string* out) {
  out->push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out->push_back(',');
    append_json_string(values[i], out);
  }
  out->push_back(']');
}

}  // namespace

void append_json_string(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (std::size_t len = utf8_sequence_length(s, i); len > 0) {
        i += len;
        continue;
      }
    }
    out->append(s.substr(run, i - run));
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out->append(esc, sizeof esc);
        } else {
          out->append(kReplacementChar);  // an invalid UTF-8 byte
        }
    }
    run = ++i;
  }
  out->append(s.substr(run));
  out->push_back('"');
}

void append_metadata_json(const Metadata& metadata, std::string* out) {
  if (metadata.empty()) {
    out->append("null");
    return;
  }
  out->push_back('{');
  bool first = true;
  for (const auto& [key, value] : metadata) {
    if (!first) out->push_back(',');
    first = false;
    append_json_string(key, out);
    out->push_back(':');
    if (const auto* s = std::get_if<std::string>(&value)) {
      append_json_string(*s, out);
    } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
      append_int(*i, out);
    } else if (const auto* d = std::get_if<double>(&value)) {
      append_double(*d, out);
    } else {
      out->append(std::get<bool>(value) ? "true" : "false");
    }
  }
  out->push_back('}');
}

std::string encode_upsert_body(std::span<const Record> records, bool base64) {
  std::string out;
  std::size_t estimate = 64;
  for (const auto& r : records) {
    estimate += r.id.size() + (r.document ? r.document->size() : 0) + 64 +
                r.embedding.size() * (base64 ? 6 : 14) + r.metadata.size() * 32;
  }
  out.reserve(estimate);
  out.append("{\"ids\":[");
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(records[i].id, &out);
  }
  out.append("],\"embeddings\":[");
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i) out.push_back(',');
    const auto& e = records[i].embedding;
    if (base64) {
      out.push_back('"');
      embedding_to_base64_append(e, &out);
      out.push_back('"');
    } else {
      out.push_back('[');
      for (std::size_t k = 0; k < e.size(); ++k) {
        if (k) out.push_back(',');
        append_float(e[k], &out);
      }
      out.push_back(']');
    }
  }
  out.append("],\"documents\":[");
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i) out.push_back(',');
    if (records[i].document) {
      append_json_string(*records[i].document, &out);
    } else {
      out.append("null");
    }
  }
  out.append("],\"metadatas\":[");
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i) out.push_back(',');
    append_metadata_json(records[i].metadata, &out);
  }
  // uris only when a record has one: a batch without uris keeps the body Chroma servers before
  // uris existed accept. Chroma 1.0.5 keeps a record's existing uri when the upsert's is null.
  if (std::any_of(records.begin(), records.end(), [](const Record& r) { return r.uri; })) {
    out.append("],\"uris\":[");
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (i) out.push_back(',');
      if (records[i].uri) {
        append_json_string(*records[i].uri, &out);
      } else {
        out.append("null");
      }
    }
  }
  out.append("]}");
  return out;
}

std::string encode_get_by_ids_body(std::span<const std::string> ids) {
  std::string out = "{\"ids\":";
  append_string_array(ids, &out);
  out.append(",\"include\":[\"embeddings\",\"documents\",\"metadatas\",\"uris\"]}");
  return out;
}

std::string encode_list_ids_body(std::uint64_t offset, std::uint32_t limit) {
  return "{\"limit\":" + std::to_string(limit) + ",\"offset\":" + std::to_string(offset) +
         ",\"include\":[]}";
}

std::string encode_remove_keys_body(std::span<const MetadataKeyRemoval> removals) {
  std::string out = "{\"ids\":[";
  for (std::size_t i = 0; i < removals.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(removals[i].id, &out);
  }
  out.append("],\"metadatas\":[");
  for (std::size_t i = 0; i < removals.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('{');
    for (std::size_t k = 0; k < removals[i].keys.size(); ++k) {
      if (k) out.push_back(',');
      append_json_string(removals[i].keys[k], &out);
      out.append(":null");
    }
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::string encode_ids_body(std::span<const std::string> ids) {
  std::string out = "{\"ids\":";
  append_string_array(ids, &out);
  out.push_back('}');
  return out;
}

std::string encode_query_body(std::span<const std::vector<float>> embeddings, std::size_t k) {
  std::string out;
  out.reserve(64 + (embeddings.empty() ? 0 : embeddings.size() * embeddings[0].size() * 14));
  out.append("{\"query_embeddings\":[");
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('[');
    for (std::size_t d = 0; d < embeddings[i].size(); ++d) {
      if (d) out.push_back(',');
      append_float(embeddings[i][d], &out);
    }
    out.push_back(']');
  }
  out.append("],\"n_results\":" + std::to_string(k) + ",\"include\":[\"distances\"]}");
  return out;
}

std::string encode_create_collection_body(const CollectionSpec& spec) {
  std::string out = "{\"name\":";
  append_json_string(spec.name, &out);
  if (!spec.metadata.empty()) {
    out.append(",\"metadata\":");
    append_metadata_json(spec.metadata, &out);
  }
  out.append(",\"configuration\":");
  out.append(create_configuration(spec).dump(-1, ' ', /*ensure_ascii=*/false,
                                             nlohmann::json::error_handler_t::replace));
  out.push_back('}');
  return out;
}

nlohmann::json create_configuration(const CollectionSpec& spec) {
  // Verified against Chroma 1.0.5 (`chroma run`, HTTP v2), 2026-11-28:
  //  - configuration.embedding_function is stored and returned verbatim in configuration_json
  //    (nested objects of any depth; object keys come back sorted), e.g.
  //    {"type":"known","name":"openai","config":{"model_name":"text-embedding-3-small"}};
  //    {"type":"legacy"} is accepted; null or absent reads back as null. A value without "type"
  //    or a bare string is a 400 ("missing field `type`", "expected internally tagged enum").
  //  - hnsw keys left out are filled with the defaults; the answer always holds hnsw (all six
  //    keys), "spann": null and "embedding_function".
  //  - top-level keys the server does not know (e.g. 0.x's "_type", "hnsw_configuration", or
  //    any other) are accepted and silently dropped.
  //  - "spann" alone is accepted and ignored by the single-node server (it answers hnsw defaults,
  //    spann null); hnsw and a non-null spann together are a 400 ("Multiple vector index
  //    configurations provided"). "spann": null next to hnsw is accepted.
  // So the configuration is sent verbatim with hnsw set to the planned parameters (the mapping
  // may override them), except: 0.x's internal keys are dropped (their hnsw content is already
  // in spec.hnsw), and a configuration whose index is spann (non-null) is sent without hnsw.
  nlohmann::json config =
      spec.configuration.is_object() ? spec.configuration : nlohmann::json::object();
  config.erase("_type");
  config.erase("hnsw_configuration");
  const auto spann = config.find("spann");
  if (spann != config.end() && !spann->is_null()) {
    config.erase("hnsw");
    return config;
  }
  nlohmann::json& hnsw = config["hnsw"];
  if (!hnsw.is_object()) hnsw = nlohmann::json::object();
  hnsw.update(hnsw_to_json(spec.hnsw));
  return config;
}

}  // namespace cm
