#include "common/persist/persist_values.hpp"

#include <bit>
#include <cstring>
#include <limits>

namespace cm {

std::optional<MetaValue> typed_value(const SqliteStatement& stmt, int first, bool with_bool) {
  if (!stmt.is_null(first)) return MetaValue{std::string(stmt.text(first))};
  if (!stmt.is_null(first + 1)) return MetaValue{stmt.int64(first + 1)};
  if (!stmt.is_null(first + 2)) return MetaValue{stmt.real(first + 2)};
  if (with_bool && !stmt.is_null(first + 3)) return MetaValue{stmt.int64(first + 3) != 0};
  return std::nullopt;
}

Result<MetadataUpdate> parse_queue_metadata(std::string_view json_text) {
  const auto j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kCorruption, "queue metadata is not a JSON object: " +
                                                  std::string(json_text.substr(0, 200)));
  }
  MetadataUpdate out;
  out.reserve(j.size());
  for (const auto& [key, value] : j.items()) {
    std::optional<MetaValue> v;
    if (value.is_string()) {
      v = value.get<std::string>();
    } else if (value.is_boolean()) {
      v = value.get<bool>();
    } else if (value.is_number_unsigned()) {
      const auto u = value.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return make_error(ErrorCode::kCorruption, "queue metadata '" + key + "' exceeds int64");
      }
      v = static_cast<std::int64_t>(u);
    } else if (value.is_number_integer()) {
      v = value.get<std::int64_t>();
    } else if (value.is_number_float()) {
      v = value.get<double>();
    } else if (!value.is_null()) {
      return make_error(ErrorCode::kCorruption, "queue metadata '" + key + "' holds a " +
                                                    value.type_name() +
                                                    " (arrays need Chroma 1.5, not supported)");
    }
    out.emplace_back(key, std::move(v));
  }
  return out;
}

Result<std::vector<float>> decode_queue_vector(std::string_view blob, std::string_view encoding,
                                               std::optional<int> dimension) {
  static_assert(std::endian::native == std::endian::little, "queue vectors are little-endian");
  const bool is_float = encoding == "FLOAT32";
  if (!is_float && encoding != "INT32") {
    return make_error(ErrorCode::kCorruption,
                      "queue vector has the unknown encoding '" + std::string(encoding) + "'");
  }
  if (blob.size() % 4 != 0 ||
      (dimension && blob.size() != static_cast<std::size_t>(*dimension) * 4)) {
    return make_error(ErrorCode::kCorruption,
                      "queue vector of " + std::to_string(blob.size()) + " bytes" +
                          (dimension ? " for dimension " + std::to_string(*dimension) : "") +
                          " (4 bytes per value)");
  }
  std::vector<float> out(blob.size() / 4);
  if (is_float) {
    std::memcpy(out.data(), blob.data(), blob.size());
    return out;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::int32_t v;
    std::memcpy(&v, blob.data() + 4 * i, 4);
    out[i] = static_cast<float>(v);
  }
  return out;
}

void apply_metadata_value(std::string_view key, MetaValue&& value, Record* record) {
  if (key == kDocumentKey || key == kUriKey) {
    auto* s = std::get_if<std::string>(&value);
    auto& field = key == kDocumentKey ? record->document : record->uri;
    field = s ? std::optional<std::string>(std::move(*s)) : std::nullopt;
    return;
  }
  if (key.starts_with("chroma:")) return;
  // The segment's rows of one record come in key order: the hint makes each insert O(1).
  record->metadata.insert_or_assign(record->metadata.end(), std::string(key), std::move(value));
}

void apply_metadata_update(const MetadataUpdate& update, Record* record) {
  for (const auto& [key, value] : update) {
    if (value) {
      apply_metadata_value(key, MetaValue(*value), record);
      continue;
    }
    if (key == kDocumentKey || key == kUriKey) {
      (key == kDocumentKey ? record->document : record->uri).reset();
    } else if (!key.starts_with("chroma:")) {
      record->metadata.erase(key);
    }
  }
}

}  // namespace cm
