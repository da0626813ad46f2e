#include "validate/semantic/queries_file.hpp"

#include <cmath>
#include <limits>
#include <set>

#include "common/base/atomic_file.hpp"

namespace cm::validate {
namespace {

using nlohmann::json;

std::unexpected<Error> invalid(const std::string& origin, const std::string& place,
                               const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, origin + ": " + place + ": " + why);
}

Result<QuerySpec> parse_query(const json& q, const std::string& origin, const std::string& place,
                              std::size_t index) {
  if (!q.is_object()) return invalid(origin, place, "must be an object");
  for (const auto& [key, value] : q.items()) {
    if (key != "name" && key != "collection" && key != "k" && key != "embedding" &&
        key != "record_id") {
      return invalid(origin, place + "." + key,
                     "unknown key (expected name, collection, k, embedding or record_id)");
    }
  }
  QuerySpec spec;
  auto collection = q.find("collection");
  if (collection == q.end() || !collection->is_string() || collection->get<std::string>().empty()) {
    return invalid(origin, place + ".collection",
                   "must be a non-empty string (a source collection)");
  }
  spec.collection = collection->get<std::string>();
  const bool has_embedding = q.contains("embedding"), has_record = q.contains("record_id");
  if (has_embedding == has_record) {
    return invalid(origin, place, "needs exactly one of \"embedding\" and \"record_id\"");
  }
  if (has_record) {
    const json& id = q.at("record_id");
    if (!id.is_string() || id.get<std::string>().empty()) {
      return invalid(origin, place + ".record_id", "must be a non-empty string");
    }
    spec.record_id = id.get<std::string>();
  } else {
    const json& e = q.at("embedding");
    if (!e.is_array() || e.empty()) {
      return invalid(origin, place + ".embedding", "must be a non-empty array of numbers");
    }
    spec.embedding.reserve(e.size());
    for (std::size_t i = 0; i < e.size(); ++i) {
      const json& v = e[i];
      const double d = v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
      if (!std::isfinite(d) || std::abs(d) > std::numeric_limits<float>::max()) {
        return invalid(origin, place + ".embedding[" + std::to_string(i) + "]",
                       "must be a finite number within float32 range");
      }
      spec.embedding.push_back(static_cast<float>(d));
    }
  }
  if (auto k = q.find("k"); k != q.end()) {
    if (!k->is_number_integer() || k->get<std::int64_t>() < 1 ||
        k->get<std::int64_t>() > static_cast<std::int64_t>(kMaxQueryK)) {
      return invalid(origin, place + ".k",
                     "must be an integer in [1, " + std::to_string(kMaxQueryK) + "]");
    }
    spec.k = static_cast<std::size_t>(k->get<std::int64_t>());
  }
  if (auto name = q.find("name"); name != q.end()) {
    if (!name->is_string() || name->get<std::string>().empty()) {
      return invalid(origin, place + ".name", "must be a non-empty string");
    }
    spec.name = name->get<std::string>();
  } else {
    spec.name = spec.record_id ? *spec.record_id : "queries[" + std::to_string(index) + "]";
  }
  return spec;
}

}  // namespace

Result<std::vector<QuerySpec>> parse_queries(const json& document, const std::string& origin) {
  if (!document.is_object()) return invalid(origin, "(root)", "must be an object with \"queries\"");
  for (const auto& [key, value] : document.items()) {
    if (key != "queries" && key != "description") {
      return invalid(origin, key, "unknown key (expected queries or description)");
    }
  }
  auto queries = document.find("queries");
  if (queries == document.end() || !queries->is_array()) {
    return invalid(origin, "queries", "must be an array");
  }
  std::vector<QuerySpec> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < queries->size(); ++i) {
    const std::string place = "queries[" + std::to_string(i) + "]";
    CM_ASSIGN_OR_RETURN(QuerySpec spec, parse_query((*queries)[i], origin, place, i));
    if (!names.insert(spec.name).second) {
      return invalid(origin, place + ".name", "\"" + spec.name + "\" is used by an earlier query");
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Result<std::vector<QuerySpec>> load_queries(const std::filesystem::path& file) {
  CM_ASSIGN_OR_RETURN(std::string text, read_file(file));
  const std::string origin = file.filename().string();
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {  // its message carries the byte position
    return make_error(ErrorCode::kInvalidArgument, origin + ": not valid JSON: " + e.what());
  }
  return parse_queries(document, origin);
}

}  // namespace cm::validate
