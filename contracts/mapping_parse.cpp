// The mapping document, "targets", "routes" (with "where" predicates) and "unmatched". Everything
// is validated here so that transform_record never meets an inconsistent mapping.
#include <algorithm>
#include <set>

#include "contracts/mapping_parse.hpp"

namespace cm::contracts {
namespace detail {
namespace {

struct HnswBound {
  const char* key;
  double min;
  double max;
  bool integer;
};
// The tool's sanity bounds: wider than any sensible setting, narrow enough to catch typos such as a
// max_neighbors of 1600 meant as 16.
constexpr HnswBound kHnswBounds[] = {
    {"ef_construction", 1, 10000, true},  {"ef_search", 1, 10000, true},
    {"max_neighbors", 2, 1024, true},     {"resize_factor", 1.0, 100.0, false},
    {"sync_threshold", 2, 1000000, true},
};

Status parse_hnsw(const Checker& check, const json& hnsw, const std::string& place,
                  TargetSettings* target) {
  CM_RETURN_IF_ERROR(check.object(hnsw, place));
  CM_RETURN_IF_ERROR(check.known_keys(
      hnsw, place,
      {"ef_construction", "ef_search", "max_neighbors", "resize_factor", "sync_threshold"}));
  for (const auto& bound : kHnswBounds) {
    if (!hnsw.contains(bound.key)) continue;
    const json& value = hnsw.at(bound.key);
    const std::string at = child(place, bound.key);
    if (bound.integer ? !value.is_number_integer() : !value.is_number()) {
      return check.fail(
          at, std::string(bound.integer ? "expected an integer" : "expected a number") + ", got " +
                  json_kind(value));
    }
    const double v = value.get<double>();
    if (v < bound.min || v > bound.max) {
      auto show = [&](double b) {
        return bound.integer ? std::to_string(static_cast<std::int64_t>(b)) : json(b).dump();
      };
      return check.fail(
          at, value.dump() + " is out of range (" + show(bound.min) + ".." + show(bound.max) + ")");
    }
    target->hnsw_overrides[bound.key] = value;
  }
  return ok_status();
}

Status parse_target_metadata(const Checker& check, const json& meta, const std::string& place,
                             TargetSettings* target) {
  CM_RETURN_IF_ERROR(check.object(meta, place));
  for (const auto& [key, value] : meta.items()) {
    const std::string at = child(place, key);
    if (auto why = invalid_written_key_reason(key)) return check.fail(at, *why);
    if (key.starts_with("hnsw:")) {
      return check.fail(at,
                        "set HNSW parameters with the target's \"space\" and \"hnsw\", not "
                        "legacy metadata keys");
    }
    CM_ASSIGN_OR_RETURN(target->metadata[key], check.meta_value(value, at));
  }
  return ok_status();
}

Status parse_targets(const Checker& check, const json& targets, Mapping* m) {
  CM_RETURN_IF_ERROR(check.object(targets, "targets"));
  if (targets.empty()) return check.fail("targets", "declare at least one target collection");
  for (const auto& [name, spec] : targets.items()) {
    const std::string place = child("targets", name);
    if (auto why = invalid_collection_name_reason(name)) {
      return check.fail(place, "invalid collection name: " + *why);
    }
    CM_RETURN_IF_ERROR(check.object(spec, place));
    CM_RETURN_IF_ERROR(
        check.known_keys(spec, place, {"space", "hnsw", "metadata", "embedding_function"}));
    TargetSettings target;
    target.name = name;
    if (spec.contains("space")) {
      CM_RETURN_IF_ERROR(
          check.one_of(spec["space"], child(place, "space"), {"l2", "cosine", "ip"}));
      target.space = spec["space"].get<std::string>();
    }
    if (spec.contains("hnsw")) {
      CM_RETURN_IF_ERROR(parse_hnsw(check, spec["hnsw"], child(place, "hnsw"), &target));
    }
    if (spec.contains("metadata")) {
      CM_RETURN_IF_ERROR(
          parse_target_metadata(check, spec["metadata"], child(place, "metadata"), &target));
    }
    if (spec.contains("embedding_function")) {
      const json& ef = spec["embedding_function"];
      if (!ef.is_object() && !ef.is_null()) {
        return check.fail(child(place, "embedding_function"),
                          "must be an object (Chroma's configuration.embedding_function, e.g. "
                          "{\"type\": \"known\", \"name\": \"openai\", \"config\": {...}}) or "
                          "null for none");
      }
      target.embedding_function = ef;
    }
    m->targets.emplace(name, std::move(target));
  }
  return ok_status();
}

Result<std::string> declared_target(const Checker& check, const json& value,
                                    const std::string& place, const Mapping& m) {
  CM_RETURN_IF_ERROR(check.string(value, place));
  const auto& name = value.get_ref<const std::string&>();
  if (m.targets.contains(name)) return name;
  std::string declared;
  for (const auto& [n, t] : m.targets) declared += (declared.empty() ? "" : ", ") + n;
  return check.fail(
      place, json(name).dump() + " is not declared in \"targets\" (declared: " + declared + ")");
}

Status parse_predicates(const Checker& check, const std::string& key, const json& spec,
                        const std::string& place, Route* route) {
  CM_RETURN_IF_ERROR(check.object(spec, place));
  if (spec.empty()) return check.fail(place, "empty predicate (use eq, in, prefix or exists)");
  for (const auto& [op, arg] : spec.items()) {
    const std::string at = child(place, op);
    Predicate p;
    p.key = key;
    if (op == "eq") {
      p.op = Predicate::Op::kEq;
      CM_ASSIGN_OR_RETURN(auto v, check.meta_value(arg, at));
      p.values.push_back(std::move(v));
    } else if (op == "in") {
      p.op = Predicate::Op::kIn;
      CM_RETURN_IF_ERROR(check.array(arg, at));
      if (arg.empty()) return check.fail(at, "an empty \"in\" list matches nothing");
      for (std::size_t i = 0; i < arg.size(); ++i) {
        CM_ASSIGN_OR_RETURN(auto v, check.meta_value(arg[i], element(at, i)));
        p.values.push_back(std::move(v));
      }
    } else if (op == "prefix") {
      p.op = Predicate::Op::kPrefix;
      CM_RETURN_IF_ERROR(check.string(arg, at));
      p.prefix = arg.get<std::string>();
    } else if (op == "exists") {
      p.op = Predicate::Op::kExists;
      CM_RETURN_IF_ERROR(check.boolean(arg, at));
      p.exists = arg.get<bool>();
    } else {
      return check.fail(
          place, "unknown predicate " + json(op).dump() + " (known: eq, in, prefix, exists)");
    }
    route->where.push_back(std::move(p));
  }
  return ok_status();
}

Status parse_route(const Checker& check, const json& spec, std::size_t index, Mapping* m) {
  const std::string place = element("routes", index);
  CM_RETURN_IF_ERROR(check.object(spec, place));
  CM_RETURN_IF_ERROR(check.known_keys(spec, place, {"name", "from", "where", "to"}));
  Route route;
  route.label = "route[" + std::to_string(index) + "]";
  if (spec.contains("name")) {
    const std::string at = child(place, "name");
    CM_RETURN_IF_ERROR(check.string(spec["name"], at));
    route.label = spec["name"].get<std::string>();
    if (route.label.empty()) return check.fail(at, "must not be empty");
    if (route.label == "unmatched") return check.fail(at, "\"unmatched\" is reserved");
  }
  for (const auto& other : m->routes) {
    if (other.label == route.label) {
      return check.fail(place, "route name " + json(route.label).dump() + " is used twice");
    }
  }
  CM_RETURN_IF_ERROR(check.required(spec, place, "from"));
  const std::string from_place = child(place, "from");
  CM_RETURN_IF_ERROR(check.array(spec["from"], from_place));
  if (spec["from"].empty()) return check.fail(from_place, "list at least one source collection");
  for (std::size_t i = 0; i < spec["from"].size(); ++i) {
    const json& name = spec["from"][i];
    const std::string at = element(from_place, i);
    CM_RETURN_IF_ERROR(check.string(name, at));
    const auto& text = name.get_ref<const std::string&>();
    if (auto why = invalid_collection_name_reason(text)) {
      return check.fail(at, "invalid collection name: " + *why);
    }
    if (std::ranges::find(route.from, text) != route.from.end()) {
      return check.fail(at, json(text).dump() + " is listed twice");
    }
    route.from.push_back(text);
  }
  if (spec.contains("where")) {
    const std::string where_place = child(place, "where");
    CM_RETURN_IF_ERROR(check.object(spec["where"], where_place));
    for (const auto& [key, predicate] : spec["where"].items()) {
      const std::string at = child(where_place, key);
      if (auto why = invalid_metadata_key_reason(key)) return check.fail(at, *why);
      CM_RETURN_IF_ERROR(parse_predicates(check, key, predicate, at, &route));
    }
  }
  CM_RETURN_IF_ERROR(check.required(spec, place, "to"));
  CM_ASSIGN_OR_RETURN(route.to, declared_target(check, spec["to"], child(place, "to"), *m));
  m->routes.push_back(std::move(route));
  return ok_status();
}

Status parse_unmatched(const Checker& check, const json& value, Mapping* m) {
  if (value.is_object()) {
    CM_RETURN_IF_ERROR(check.known_keys(value, "unmatched", {"to"}));
    CM_RETURN_IF_ERROR(check.required(value, "unmatched", "to"));
    m->unmatched.kind = UnmatchedPolicy::Kind::kRoute;
    CM_ASSIGN_OR_RETURN(m->unmatched.to, declared_target(check, value["to"], "unmatched.to", *m));
    return ok_status();
  }
  if (!value.is_string()) {
    return check.fail("unmatched", "expected \"error\", \"skip\" or {\"to\": \"<target>\"}, got " +
                                       json_kind(value));
  }
  CM_ASSIGN_OR_RETURN(auto i, check.one_of(value, "unmatched", {"error", "skip"}));
  m->unmatched.kind = i == 0 ? UnmatchedPolicy::Kind::kError : UnmatchedPolicy::Kind::kSkip;
  return ok_status();
}

// A declared target nothing leads to is almost always a typo in a route's "to".
Status check_targets_reached(const Checker& check, const Mapping& m) {
  for (const auto& [name, target] : m.targets) {
    const bool routed = std::ranges::any_of(m.routes, [&](const Route& r) { return r.to == name; });
    const bool fallback =
        m.unmatched.kind == UnmatchedPolicy::Kind::kRoute && m.unmatched.to == name;
    if (!routed && !fallback) {
      return check.fail(child("targets", name),
                        "no route (nor \"unmatched\") leads to this target");
    }
  }
  return ok_status();
}

}  // namespace
}  // namespace detail

Result<Mapping> parse_mapping(const nlohmann::json& j, const std::string& origin) {
  using namespace detail;
  const Checker check(origin);
  if (!j.is_object()) return check.fail("", "a mapping must be a JSON object, got " + json_kind(j));
  CM_RETURN_IF_ERROR(
      check.known_keys(j, "",
                       {"mapping_version", "description", "targets", "routes", "unmatched",
                        "fields", "on_cast_failure", "unmapped_keys", "id_template"}));
  Mapping m;
  m.origin = origin;
  CM_RETURN_IF_ERROR(check.required(j, "", "mapping_version"));
  if (!j["mapping_version"].is_number_integer() || j["mapping_version"].get<std::int64_t>() != 1) {
    return check.fail("mapping_version",
                      "unsupported version " + j["mapping_version"].dump() + " (supported: 1)");
  }
  if (j.contains("description")) {
    CM_RETURN_IF_ERROR(check.string(j["description"], "description"));
    m.description = j["description"].get<std::string>();
  }
  CM_RETURN_IF_ERROR(check.required(j, "", "targets"));
  CM_RETURN_IF_ERROR(parse_targets(check, j["targets"], &m));
  CM_RETURN_IF_ERROR(check.required(j, "", "routes"));
  CM_RETURN_IF_ERROR(check.array(j["routes"], "routes"));
  if (j["routes"].empty()) return check.fail("routes", "declare at least one route");
  for (std::size_t i = 0; i < j["routes"].size(); ++i) {
    CM_RETURN_IF_ERROR(parse_route(check, j["routes"][i], i, &m));
  }
  if (j.contains("unmatched")) CM_RETURN_IF_ERROR(parse_unmatched(check, j["unmatched"], &m));
  CM_RETURN_IF_ERROR(check_targets_reached(check, m));
  if (j.contains("fields")) CM_RETURN_IF_ERROR(parse_fields(check, j["fields"], &m));
  if (j.contains("on_cast_failure")) {
    CM_ASSIGN_OR_RETURN(
        auto i, check.one_of(j["on_cast_failure"], "on_cast_failure", {"fail", "skip_record"}));
    m.on_cast_failure =
        i == 0 ? Mapping::OnCastFailure::kFail : Mapping::OnCastFailure::kSkipRecord;
  }
  if (j.contains("unmapped_keys")) {
    CM_ASSIGN_OR_RETURN(auto i,
                        check.one_of(j["unmapped_keys"], "unmapped_keys", {"drop", "keep"}));
    m.unmapped_keys = i == 0 ? Mapping::UnmappedKeys::kDrop : Mapping::UnmappedKeys::kKeep;
  }
  if (j.contains("id_template")) CM_RETURN_IF_ERROR(parse_id_template(check, j["id_template"], &m));
  m.canonical = j;
  return m;
}

}  // namespace cm::contracts
