// describe_schema_change: what a dry-run plan shows about the metadata schema a mapping produces.
#include <set>

#include "contracts/mapping.hpp"
#include "contracts/mapping_cast.hpp"
#include "contracts/mapping_json.hpp"

namespace cm::contracts {
namespace {

using nlohmann::json;

using detail::quoted;

std::string origin_of(const MappingFieldRule& rule) {
  switch (rule.kind) {
    case MappingFieldRule::Kind::kCopy: {
      std::string text = "copy of source key " + quoted(rule.from);
      if (rule.cast) text += std::string(" cast to ") + value_type_name(*rule.cast);
      if (rule.default_value) {
        text += ", default " + describe_meta_value(*rule.default_value) + " when missing";
      } else {
        text += ", absent when missing";
      }
      return text;
    }
    case MappingFieldRule::Kind::kConst:
      return "const " + describe_meta_value(rule.constant);
    case MappingFieldRule::Kind::kCompute:
      return std::string("computed ") + compute_name(rule.compute);
  }
  return "?";
}

}  // namespace

json describe_schema_change(const Mapping& m) {
  json keys = json::array();
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const auto& rule = m.fields[i];
    keys.push_back({{"key", rule.to},
                    {"rule", "fields[" + std::to_string(i) + "]"},
                    {"origin", origin_of(rule)}});
  }
  // Source keys that rules read but no rule writes back under the same name vanish from records.
  json removed = json::array();
  for (const auto& key : m.consumed_keys) {
    if (!m.owned_keys.contains(key)) removed.push_back(key);
  }
  json routes = json::array();
  for (std::size_t i = 0; i < m.routes.size(); ++i) {
    const auto& route = m.routes[i];
    // The predicates as written (the parsed form has no JSON spelling of its own).
    json where = json::object();
    const json* written = m.canonical.contains("routes") ? &m.canonical["routes"] : nullptr;
    if (written && written->is_array() && i < written->size() && (*written)[i].contains("where")) {
      where = (*written)[i]["where"];
    }
    routes.push_back(
        {{"route", route.label}, {"from", route.from}, {"where", where}, {"to", route.to}});
  }
  std::string unmatched = "error";
  if (m.unmatched.kind == UnmatchedPolicy::Kind::kSkip) unmatched = "skip";
  if (m.unmatched.kind == UnmatchedPolicy::Kind::kRoute) unmatched = "to " + m.unmatched.to;
  return {
      {"target_keys", keys},
      {"source_keys_read", json(m.consumed_keys)},
      {"source_keys_removed", removed},
      {"other_source_keys", m.unmapped_keys == Mapping::UnmappedKeys::kDrop
                                ? "dropped"
                                : "kept under their own names unless a rule writes that key"},
      {"ids", m.id_template ? "id_template " + quoted(*m.id_template) : std::string("unchanged")},
      {"routes", routes},
      {"unmatched", unmatched},
      {"on_cast_failure",
       m.on_cast_failure == Mapping::OnCastFailure::kFail ? "fail" : "skip_record"},
  };
}

}  // namespace cm::contracts
