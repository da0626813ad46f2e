// Decoding of Chroma responses. Get answers are the hot path of an export (~20k records/s of
// ~4.3 KB JSON each), so they are read with simdjson's On-Demand API in one forward pass, and
// each embedding number is converted from its raw token with std::from_chars<float>. Small
// answers (collections, counts) go through nlohmann::json for simplicity.
//
// simdjson reports errors by throwing simdjson_error from its value conversions; every public
// function catches them at its boundary and returns kProtocol, so nothing escapes this file.
#include "common/chroma/chroma_wire.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>

namespace cm {

std::unexpected<Error> wire_protocol_error(const std::string& what) {
  return make_error(ErrorCode::kProtocol, "unexpected Chroma response: " + what);
}

namespace {

namespace od = simdjson::ondemand;

// Parsers are not thread-safe but are expensive to set up (they size internal buffers to the
// largest document seen), so each thread keeps its own.
od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

std::string record_name(const std::vector<std::string>& ids, std::size_t i) {
  if (i < ids.size()) return "record '" + ids[i] + "'";
  return "record #" + std::to_string(i);
}

enum class FloatToken { kOk, kNull, kNotNumber, kOutOfRange };

// Correctly rounded text -> float32, like strtof, without going through double (double rounding
// would be wrong for some inputs). The token may carry trailing whitespace (simdjson keeps it).
inline FloatToken parse_float_token(std::string_view token, float* out) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                            token.back() == '\t')) {
    token.remove_suffix(1);  // JSON whitespace only; std::isspace is a call per number
  }
  if (token.empty()) return FloatToken::kNotNumber;
  const char c = token.front();
  if (c != '-' && (c < '0' || c > '9')) {
    return token == "null" ? FloatToken::kNull : FloatToken::kNotNumber;
  }
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, *out);
  if (ec == std::errc()) return ptr == end ? FloatToken::kOk : FloatToken::kNotNumber;
  if (ec != std::errc::result_out_of_range) return FloatToken::kNotNumber;
  // from_chars reports underflow as out of range too; strtof's answer (0 or a subnormal, with
  // the right sign) is what the sender meant there. Overflow is a value float32 cannot hold.
  std::string copy(token);
  float v = std::strtof(copy.c_str(), nullptr);
  if (std::isinf(v)) return FloatToken::kOutOfRange;
  *out = v;
  return FloatToken::kOk;
}

Status read_embedding(od::value value, const std::vector<std::string>& ids, std::size_t index,
                      std::size_t dim_hint, std::vector<float>* out) {
  od::array values = value.get_array();
  out->reserve(dim_hint);
  for (auto element : values) {
    od::value v = std::move(element);
    std::string_view token = v.raw_json_token();
    float f = 0;
    switch (parse_float_token(token, &f)) {
      case FloatToken::kOk:
        out->push_back(f);
        continue;
      case FloatToken::kNull:
        return wire_protocol_error(record_name(ids, index) + " has a null at embedding position " +
                                   std::to_string(out->size()) +
                                   " (the server holds a non-finite value it cannot send as JSON)");
      case FloatToken::kOutOfRange:
        return wire_protocol_error(
            record_name(ids, index) +
            " has an embedding value beyond float32 range: " + std::string(token));
      case FloatToken::kNotNumber:
        return wire_protocol_error(
            record_name(ids, index) +
            " has a non-number in its embedding: " + std::string(token.substr(0, 40)));
    }
  }
  return ok_status();
}

Result<MetaValue> read_meta_value(od::value value, std::string_view key,
                                  const std::vector<std::string>& ids, std::size_t index) {
  auto where = [&] {
    return "metadata key '" + std::string(key) + "' of " + record_name(ids, index);
  };
  switch (od::json_type(value.type())) {
    case od::json_type::string:
      return MetaValue(std::string(std::string_view(value.get_string())));
    case od::json_type::boolean:
      return MetaValue(bool(value.get_bool()));
    case od::json_type::number: {
      od::number n;
      if (auto err = value.get_number().get(n)) {
        return wire_protocol_error(where() +
                                   " holds a number out of range: " + simdjson::error_message(err));
      }
      switch (n.get_number_type()) {
        case od::number_type::signed_integer:
          return MetaValue(std::int64_t{n.get_int64()});
        case od::number_type::floating_point_number:
          return MetaValue(n.get_double());
        default:
          return wire_protocol_error(where() + " holds an integer beyond 64-bit signed range");
      }
    }
    case od::json_type::null:
      return wire_protocol_error(where() +
                                 " is null (metadata values must be string, int, float or bool)");
    case od::json_type::array:
      return wire_protocol_error(
          where() + " holds an array (not supported: string, int, float or bool only)");
    case od::json_type::object:
      return wire_protocol_error(where() +
                                 " holds a nested object (only string, int, float or bool)");
  }
  return wire_protocol_error(where() + " has an unknown JSON type");
}

Status read_metadata(od::value value, const std::vector<std::string>& ids, std::size_t index,
                     Metadata* out) {
  if (value.is_null()) return ok_status();
  od::object object = value.get_object();
  for (auto entry : object) {
    od::field field = std::move(entry);
    std::string key(std::string_view(field.unescaped_key()));
    CM_ASSIGN_OR_RETURN(MetaValue v, read_meta_value(field.value(), key, ids, index));
    out->insert_or_assign(std::move(key), std::move(v));  // a repeated key: the last one wins
  }
  return ok_status();
}

Status read_ids(od::value value, std::vector<std::string>* ids) {
  od::array array = value.get_array();
  for (auto element : array) ids->emplace_back(std::string_view(element.get_string()));
  return ok_status();
}

// Runs `fn`, turning library exceptions into errors. `where` names the part being read when
// simdjson gave up; `fn` updates it as it goes.
template <typename Fn>
auto simdjson_guarded(const std::string& where, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const simdjson::simdjson_error& e) {
    return wire_protocol_error(where + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kInternal, where + ": out of memory");
  }
}

}  // namespace

Result<std::vector<Record>> parse_get_records(std::string_view body) {
  std::string where = "get answer";
  return simdjson_guarded(where, [&]() -> Result<std::vector<Record>> {
    simdjson::padded_string padded(body);
    od::document doc = thread_parser().iterate(padded);
    od::object root = doc.get_object();
    std::vector<std::string> ids;
    std::vector<std::vector<float>> embeddings;
    std::vector<std::optional<std::string>> documents;
    std::vector<Metadata> metadatas;
    std::vector<std::optional<std::string>> uris;
    bool have_ids = false, have_embeddings = false, have_documents = false, have_metadatas = false;
    bool have_uris = false;
    for (auto entry : root) {
      od::field field = std::move(entry);
      std::string_view key = field.unescaped_key();
      od::value value = field.value();
      where = "get answer, field '" + std::string(key) + "'";
      if (key == "ids") {
        CM_RETURN_IF_ERROR(read_ids(value, &ids));
        have_ids = true;
      } else if (key == "embeddings") {
        if (value.is_null()) continue;
        od::array array = value.get_array();
        std::size_t dim_hint = 0;
        for (auto element : array) {
          std::vector<float>& e = embeddings.emplace_back();
          CM_RETURN_IF_ERROR(
              read_embedding(std::move(element), ids, embeddings.size() - 1, dim_hint, &e));
          dim_hint = e.size();
        }
        have_embeddings = true;
      } else if (key == "documents") {
        if (value.is_null()) continue;
        od::array array = value.get_array();
        for (auto element : array) {
          od::value v = std::move(element);
          if (v.is_null()) {
            documents.emplace_back(std::nullopt);
          } else {
            documents.emplace_back(std::string(std::string_view(v.get_string())));
          }
        }
        have_documents = true;
      } else if (key == "uris") {
        if (value.is_null()) continue;  // not included (an older server or no uris asked for)
        od::array array = value.get_array();
        for (auto element : array) {
          od::value v = std::move(element);
          if (v.is_null()) {
            uris.emplace_back(std::nullopt);
          } else {
            uris.emplace_back(std::string(std::string_view(v.get_string())));
          }
        }
        have_uris = true;
      } else if (key == "metadatas") {
        if (value.is_null()) continue;
        od::array array = value.get_array();
        for (auto element : array) {
          const std::size_t index = metadatas.size();
          CM_RETURN_IF_ERROR(
              read_metadata(std::move(element), ids, index, &metadatas.emplace_back()));
        }
        have_metadatas = true;
      }
    }
    if (!have_ids) return wire_protocol_error("get answer has no ids");
    auto check = [&](bool have, std::size_t size, const char* name) -> Status {
      if (!have)
        return wire_protocol_error(std::string("get answer has no ") + name + " (null or missing)");
      if (size != ids.size()) {
        return wire_protocol_error(std::string("get answer has ") + std::to_string(size) + " " +
                                   name + " for " + std::to_string(ids.size()) + " ids");
      }
      return ok_status();
    };
    CM_RETURN_IF_ERROR(check(have_embeddings, embeddings.size(), "embeddings"));
    CM_RETURN_IF_ERROR(check(have_documents, documents.size(), "documents"));
    CM_RETURN_IF_ERROR(check(have_metadatas, metadatas.size(), "metadatas"));
    if (have_uris) CM_RETURN_IF_ERROR(check(true, uris.size(), "uris"));
    std::vector<Record> records(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      records[i].id = std::move(ids[i]);
      records[i].embedding = std::move(embeddings[i]);
      records[i].document = std::move(documents[i]);
      records[i].metadata = std::move(metadatas[i]);
      if (have_uris) records[i].uri = std::move(uris[i]);
    }
    return records;
  });
}

Result<std::vector<std::string>> parse_get_ids(std::string_view body) {
  const std::string where = "get answer";
  return simdjson_guarded(where, [&]() -> Result<std::vector<std::string>> {
    simdjson::padded_string padded(body);
    od::document doc = thread_parser().iterate(padded);
    od::object root = doc.get_object();
    for (auto entry : root) {
      od::field field = std::move(entry);
      if (std::string_view(field.unescaped_key()) != "ids") continue;
      std::vector<std::string> ids;
      CM_RETURN_IF_ERROR(read_ids(field.value(), &ids));
      return ids;
    }
    return wire_protocol_error("get answer has no ids");
  });
}

Result<std::vector<std::vector<QueryHit>>> parse_query_answer(std::string_view body,
                                                              std::size_t queries) {
  std::string where = "query answer";
  return simdjson_guarded(where, [&]() -> Result<std::vector<std::vector<QueryHit>>> {
    simdjson::padded_string padded(body);
    od::document doc = thread_parser().iterate(padded);
    od::object root = doc.get_object();
    std::vector<std::vector<std::string>> ids;
    std::vector<std::vector<float>> distances;
    bool have_ids = false, have_distances = false;
    for (auto entry : root) {
      od::field field = std::move(entry);
      std::string_view key = field.unescaped_key();
      od::value value = field.value();
      where = "query answer, field '" + std::string(key) + "'";
      if (key == "ids") {
        for (auto list : value.get_array()) {
          CM_RETURN_IF_ERROR(read_ids(od::value(std::move(list)), &ids.emplace_back()));
        }
        have_ids = true;
      } else if (key == "distances" && !value.is_null()) {
        for (auto list : value.get_array()) {
          auto& out = distances.emplace_back();
          od::array values = od::value(std::move(list)).get_array();
          for (auto element : values) {
            std::string_view token = od::value(std::move(element)).raw_json_token();
            float f = 0;
            switch (parse_float_token(token, &f)) {
              case FloatToken::kOk:
                break;
              case FloatToken::kNull:
                // A non-finite distance (e.g. an `ip` dot product that overflowed float32): JSON
                // cannot carry it, so the server sends null. Its sign is lost: NaN.
                f = std::numeric_limits<float>::quiet_NaN();
                break;
              default:
                return wire_protocol_error("query answer has a distance that is not a float32: " +
                                           std::string(token.substr(0, 40)));
            }
            out.push_back(f);
          }
        }
        have_distances = true;
      }
    }
    if (!have_ids || !have_distances)
      return wire_protocol_error("query answer has no ids or no distances");
    if (ids.size() != queries || distances.size() != queries) {
      return wire_protocol_error("query answer has " + std::to_string(ids.size()) +
                                 " id lists and " + std::to_string(distances.size()) +
                                 " distance lists for " + std::to_string(queries) + " queries");
    }
    std::vector<std::vector<QueryHit>> out(queries);
    for (std::size_t q = 0; q < queries; ++q) {
      if (ids[q].size() != distances[q].size()) {
        return wire_protocol_error("query answer list " + std::to_string(q) + " has " +
                                   std::to_string(ids[q].size()) + " ids and " +
                                   std::to_string(distances[q].size()) + " distances");
      }
      for (std::size_t i = 0; i < ids[q].size(); ++i) {
        out[q].push_back(QueryHit{std::move(ids[q][i]), distances[q][i]});
      }
    }
    return out;
  });
}

}  // namespace cm
