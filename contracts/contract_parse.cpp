// Loading and validating a contract file: the top level and the "collections" object. Field rules
// are parsed in contract_field_parse.cpp.
#include <algorithm>
#include <limits>

#include "common/base/atomic_file.hpp"
#include "contracts/contract_internal.hpp"

namespace cm::contracts {
namespace {

using detail::contract_error;
using nlohmann::json;

const std::vector<std::string> kTopKeys = {
    "contract_version",  "description",         "embedding_dimension", "space",
    "embedding_model",   "embedding_model_key", "collections",         "fields",
    "allow_extra_fields"};
const std::vector<std::string> kCollectionKeys = {"description", "embedding_dimension", "space",
                                                  "embedding_model"};

// The settings a collection inherits from the top level and may override.
struct Settings {
  std::optional<int> dimension;
  std::optional<std::string> space;
  std::optional<std::string> embedding_model;
};

Status parse_settings(const json& j, const std::string& origin, const std::string& prefix,
                      Settings& out) {
  if (j.contains("embedding_dimension")) {
    const auto& d = j["embedding_dimension"];
    if (!d.is_number_integer() || d.get<std::int64_t>() <= 0 ||
        d.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      return contract_error(origin, prefix + "embedding_dimension", "must be a positive integer");
    }
    out.dimension = d.get<int>();
  }
  if (j.contains("space")) {
    const auto& s = j["space"];
    if (!s.is_string() || (s != "l2" && s != "cosine" && s != "ip")) {
      return contract_error(origin, prefix + "space",
                            "must be one of l2, cosine, ip (found " + s.dump() + ")");
    }
    out.space = s.get<std::string>();
  }
  if (j.contains("embedding_model")) {
    const auto& m = j["embedding_model"];
    if (!m.is_string() || m.get<std::string>().empty()) {
      return contract_error(origin, prefix + "embedding_model", "must be a non-empty string");
    }
    out.embedding_model = m.get<std::string>();
  }
  if (j.contains("description") && !j["description"].is_string()) {
    return contract_error(origin, prefix + "description", "must be a string");
  }
  return ok_status();
}

Status parse_collections(const json& j, const std::string& origin, const Settings& defaults,
                         Contract& contract) {
  if (!j.is_object() || j.empty()) {
    return contract_error(origin, "collections",
                          "must be a non-empty object mapping collection names to settings");
  }
  for (const auto& [name, value] : j.items()) {  // nlohmann objects iterate in key order
    const std::string where = "collections." + name;
    if (auto why = invalid_collection_name_reason(name)) {
      return contract_error(origin, where, "invalid collection name: " + *why);
    }
    if (!value.is_object()) return contract_error(origin, where, "must be an object");
    CM_RETURN_IF_ERROR(detail::check_known_keys(value, kCollectionKeys, origin, where + "."));
    Settings settings = defaults;
    CM_RETURN_IF_ERROR(parse_settings(value, origin, where + ".", settings));
    contract.collections.push_back(
        {name, settings.dimension, settings.space, settings.embedding_model});
  }
  return ok_status();
}

Result<Contract> parse_contract_unchecked(const json& j, const std::string& origin) {
  if (!j.is_object())
    return make_error(ErrorCode::kInvalidArgument, origin + ": must be a JSON object");
  CM_RETURN_IF_ERROR(detail::check_known_keys(j, kTopKeys, origin, ""));
  Contract contract;
  contract.source = j;

  // contract_version is the operator's label for this contract (it is stamped into every target
  // collection's run ledger), not a file-format version: any non-empty string.
  if (!j.contains("contract_version")) {
    return contract_error(origin, "contract_version", "missing (a label such as \"2.0\")");
  }
  if (!j["contract_version"].is_string() || j["contract_version"].get<std::string>().empty()) {
    return contract_error(
        origin, "contract_version",
        "must be a non-empty string such as \"2.0\", not " + j["contract_version"].dump());
  }
  contract.version = j["contract_version"].get<std::string>();

  Settings defaults;
  CM_RETURN_IF_ERROR(parse_settings(j, origin, "", defaults));
  if (j.contains("embedding_model_key")) {
    const auto& key = j["embedding_model_key"];
    if (!key.is_string() || key.get<std::string>().empty()) {
      return contract_error(origin, "embedding_model_key", "must be a non-empty string");
    }
    contract.embedding_model_key = key.get<std::string>();
  }
  if (j.contains("allow_extra_fields")) {
    if (!j["allow_extra_fields"].is_boolean()) {
      return contract_error(origin, "allow_extra_fields", "must be true or false");
    }
    contract.allow_extra_fields = j["allow_extra_fields"].get<bool>();
  }

  if (!j.contains("collections")) {
    return contract_error(origin, "collections", "missing (name every target collection)");
  }
  CM_RETURN_IF_ERROR(parse_collections(j["collections"], origin, defaults, contract));

  if (j.contains("fields")) {
    const auto& fields = j["fields"];
    if (!fields.is_object()) return contract_error(origin, "fields", "must be an object");
    std::vector<std::string> names;
    for (const auto& c : contract.collections) names.push_back(c.name);
    for (const auto& [key, value] : fields.items()) {
      const std::string where = "fields." + key;
      if (key.empty() || key.front() == '#' || key.front() == '$') {
        return contract_error(origin, where,
                              "Chroma metadata keys must not be empty or start with # or $");
      }
      CM_ASSIGN_OR_RETURN(FieldRule rule, detail::parse_field_rule(value, origin, where, names));
      contract.fields.emplace(key, std::move(rule));
    }
  }
  return contract;
}

}  // namespace

namespace detail {

std::unexpected<Error> contract_error(const std::string& origin, const std::string& where,
                                      const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, origin + ": " + where + ": " + what);
}

Status check_known_keys(const json& object, const std::vector<std::string>& allowed,
                        const std::string& origin, const std::string& where_prefix) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return contract_error(origin, where_prefix + key, "unknown key (expected one of " + list + ")");
  }
  return ok_status();
}

}  // namespace detail

bool FieldRule::applies_to(std::string_view collection) const {
  return collections.empty() ||
         std::find(collections.begin(), collections.end(), collection) != collections.end();
}

const CollectionExpectation* Contract::find_collection(std::string_view name) const {
  auto it = std::lower_bound(
      collections.begin(), collections.end(), name,
      [](const CollectionExpectation& c, std::string_view n) { return c.name < n; });
  return it != collections.end() && it->name == name ? &*it : nullptr;
}

Result<Contract> parse_contract(const json& document, const std::string& origin) {
  // The checks above test types before every get<>; this catch is the boundary for anything missed.
  try {
    return parse_contract_unchecked(document, origin);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, origin + ": " + e.what());
  }
}

Result<Contract> load_contract(const std::filesystem::path& path) {
  const std::string origin = path.string();
  auto text = read_file(path);
  if (!text)
    return std::unexpected(std::move(text).error().with_context("reading contract " + origin));
  json doc;
  try {
    doc = json::parse(*text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(ErrorCode::kInvalidArgument, origin + ": not valid JSON: " + e.what());
  }
  return parse_contract(doc, origin);
}

}  // namespace cm::contracts
