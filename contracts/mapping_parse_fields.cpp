// "fields" (the target metadata rules) and "id_template".
#include <algorithm>
#include <map>

#include "contracts/mapping_cast.hpp"
#include "contracts/mapping_parse.hpp"

namespace cm::contracts::detail {
namespace {

constexpr std::pair<const char*, ComputeKind> kComputes[] = {
    {"document_length", ComputeKind::kDocumentLength},
    {"document_bytes", ComputeKind::kDocumentBytes},
    {"content_hash", ComputeKind::kContentHash},
    {"source_id", ComputeKind::kSourceId},
    {"source_collection", ComputeKind::kSourceCollection},
    {"run_id", ComputeKind::kRunId},
    {"migration_timestamp", ComputeKind::kMigrationTimestamp},
};

Status parse_copy(const Checker& check, const json& spec, const std::string& place,
                  MappingFieldRule* rule) {
  rule->kind = MappingFieldRule::Kind::kCopy;
  const std::string from_place = child(place, "from");
  CM_RETURN_IF_ERROR(check.string(spec["from"], from_place));
  rule->from = spec["from"].get<std::string>();
  if (auto why = invalid_metadata_key_reason(rule->from)) return check.fail(from_place, *why);
  if (spec.contains("cast")) {
    CM_ASSIGN_OR_RETURN(auto i, check.one_of(spec["cast"], child(place, "cast"),
                                             {"string", "int", "float", "bool"}));
    rule->cast = static_cast<ValueType>(i);
  }
  if (spec.contains("default")) {
    const std::string at = child(place, "default");
    CM_ASSIGN_OR_RETURN(auto value, check.meta_value(spec["default"], at));
    // A default of another type would give the target key two types across records.
    if (rule->cast && !meta_value_has_type(value, *rule->cast)) {
      return check.fail(at, describe_meta_value(value) + " does not have the cast type " +
                                value_type_name(*rule->cast));
    }
    rule->default_value = std::move(value);
  }
  return ok_status();
}

Status parse_rule(const Checker& check, const json& spec, const std::string& place,
                  MappingFieldRule* rule) {
  CM_RETURN_IF_ERROR(check.object(spec, place));
  CM_RETURN_IF_ERROR(
      check.known_keys(spec, place, {"to", "from", "cast", "default", "const", "compute"}));
  CM_RETURN_IF_ERROR(check.required(spec, place, "to"));
  const std::string to_place = child(place, "to");
  CM_RETURN_IF_ERROR(check.string(spec["to"], to_place));
  rule->to = spec["to"].get<std::string>();
  if (auto why = invalid_written_key_reason(rule->to)) return check.fail(to_place, *why);

  std::string sources;
  for (const char* k : {"from", "const", "compute"}) {
    if (spec.contains(k)) sources += std::string(sources.empty() ? "" : ", ") + k;
  }
  if (sources.empty()) {
    return check.fail(place, "needs exactly one of \"from\", \"const\", \"compute\" (found none)");
  }
  if (sources.find(',') != std::string::npos) {
    return check.fail(
        place, "needs exactly one of \"from\", \"const\", \"compute\" (found: " + sources + ")");
  }
  if (spec.contains("from")) return parse_copy(check, spec, place, rule);
  for (const char* k : {"cast", "default"}) {
    if (spec.contains(k)) {
      return check.fail(child(place, k), std::string(k) +
                                             " applies only to \"from\" rules (this "
                                             "rule uses \"" +
                                             sources + "\")");
    }
  }
  if (spec.contains("const")) {
    rule->kind = MappingFieldRule::Kind::kConst;
    CM_ASSIGN_OR_RETURN(rule->constant, check.meta_value(spec["const"], child(place, "const")));
    return ok_status();
  }
  rule->kind = MappingFieldRule::Kind::kCompute;
  const std::string at = child(place, "compute");
  CM_RETURN_IF_ERROR(check.string(spec["compute"], at));
  const auto& name = spec["compute"].get_ref<const std::string&>();
  std::string known;
  for (const auto& [n, kind] : kComputes) {
    if (name == n) {
      rule->compute = kind;
      return ok_status();
    }
    known += std::string(known.empty() ? "" : ", ") + n;
  }
  return check.fail(at, "unknown compute " + json(name).dump() + " (known: " + known + ")");
}

Status parse_placeholder(const Checker& check, const std::string& name, Mapping* m) {
  IdTemplatePart part;
  if (name == "id") {
    part.kind = IdTemplatePart::Kind::kId;
  } else if (name == "source_collection") {
    part.kind = IdTemplatePart::Kind::kSourceCollection;
  } else if (name.starts_with("meta.")) {
    part.kind = IdTemplatePart::Kind::kMeta;
    part.text = name.substr(5);
    if (auto why = invalid_metadata_key_reason(part.text)) {
      return check.fail("id_template", "placeholder {" + name + "}: " + *why);
    }
  } else {
    return check.fail("id_template", "unknown placeholder {" + name +
                                         "} (known: {id}, {source_collection}, {meta.KEY})");
  }
  m->id_parts.push_back(std::move(part));
  return ok_status();
}

}  // namespace

Status parse_fields(const Checker& check, const json& fields, Mapping* m) {
  CM_RETURN_IF_ERROR(check.array(fields, "fields"));
  std::map<std::string, std::size_t> writer;  // target key -> index of the rule writing it
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string place = element("fields", i);
    MappingFieldRule rule;
    CM_RETURN_IF_ERROR(parse_rule(check, fields[i], place, &rule));
    if (auto [it, fresh] = writer.emplace(rule.to, i); !fresh) {
      return check.fail(child(place, "to"), json(rule.to).dump() + " is already written by " +
                                                element("fields", it->second));
    }
    if (rule.kind == MappingFieldRule::Kind::kCopy) m->consumed_keys.insert(rule.from);
    m->owned_keys.insert(rule.to);
    m->fields.push_back(std::move(rule));
  }
  return ok_status();
}

// Grammar: literal text, {id}, {source_collection}, {meta.KEY}; "{{" and "}}" are literal braces.
Status parse_id_template(const Checker& check, const json& value, Mapping* m) {
  CM_RETURN_IF_ERROR(check.string(value, "id_template"));
  const auto& text = value.get_ref<const std::string&>();
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) m->id_parts.push_back({IdTemplatePart::Kind::kLiteral, literal});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal += c;
      ++i;
    } else if (c == '{') {
      const auto close = text.find('}', i);
      if (close == std::string::npos) {
        return check.fail("id_template", "unclosed \"{\" at offset " + std::to_string(i));
      }
      flush();
      CM_RETURN_IF_ERROR(parse_placeholder(check, text.substr(i + 1, close - i - 1), m));
      i = close;
    } else if (c == '}') {
      return check.fail("id_template", "lone \"}\" at offset " + std::to_string(i) +
                                           " (write \"}}\" for a literal brace)");
    } else {
      literal += c;
    }
  }
  flush();
  // Without a per-record part every record of a collection would get the same id.
  const bool per_record = std::ranges::any_of(m->id_parts, [](const IdTemplatePart& p) {
    return p.kind == IdTemplatePart::Kind::kId || p.kind == IdTemplatePart::Kind::kMeta;
  });
  if (!per_record) {
    return check.fail("id_template",
                      "must contain {id} or a {meta.KEY} placeholder, otherwise "
                      "records would share ids");
  }
  m->id_template = text;
  return ok_status();
}

}  // namespace cm::contracts::detail

namespace cm::contracts {

const char* compute_name(ComputeKind kind) {
  for (const auto& [name, k] : detail::kComputes) {
    if (k == kind) return name;
  }
  return "?";
}

}  // namespace cm::contracts
