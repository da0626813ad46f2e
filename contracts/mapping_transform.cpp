// transform_record: routing (first matching route, then the "unmatched" policy), the field rules
// and the id template. Pure: the output depends only on the arguments.
#include <algorithm>
#include <expected>

#include "common/store/canonical.hpp"
#include "contracts/mapping.hpp"
#include "contracts/mapping_cast.hpp"
#include "contracts/mapping_json.hpp"

namespace cm::contracts {
namespace {

using Problem = std::unexpected<std::string>;

using detail::quoted;

bool matches(const Predicate& p, const Metadata& meta) {
  const auto it = meta.find(p.key);
  if (p.op == Predicate::Op::kExists) return (it != meta.end()) == p.exists;
  if (it == meta.end()) return false;
  switch (p.op) {
    case Predicate::Op::kEq:
    case Predicate::Op::kIn:
      // std::variant equality compares the alternative first: 1, 1.0 and "1" are all different.
      return std::ranges::find(p.values, it->second) != p.values.end();
    case Predicate::Op::kPrefix: {
      const auto* s = std::get_if<std::string>(&it->second);
      return s != nullptr && s->starts_with(p.prefix);
    }
    case Predicate::Op::kExists:
      break;
  }
  return false;
}

bool reads(const Route& route, const std::string& collection) {
  return std::ranges::find(route.from, collection) != route.from.end();
}

const Route* first_match(const Mapping& m, const std::string& collection, const Metadata& meta) {
  for (const auto& route : m.routes) {
    if (!reads(route, collection)) continue;
    if (std::ranges::all_of(route.where, [&](const Predicate& p) { return matches(p, meta); })) {
      return &route;
    }
  }
  return nullptr;
}

// Code points counted as the bytes that do not continue a UTF-8 sequence: exact for valid UTF-8 and
// still well defined (never throws) for invalid bytes.
std::int64_t code_points(const std::string& text) {
  return static_cast<std::int64_t>(std::ranges::count_if(
      text, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

MetaValue computed(ComputeKind kind, const std::string& collection, const Record& record,
                   const TransformContext& context) {
  switch (kind) {
    case ComputeKind::kDocumentLength:
      return record.document ? code_points(*record.document) : std::int64_t{0};
    case ComputeKind::kDocumentBytes:
      return static_cast<std::int64_t>(record.document ? record.document->size() : 0);
    case ComputeKind::kContentHash:
      return record.document ? xxh3_64_hex(*record.document) : std::string();
    case ComputeKind::kSourceId:
      return record.id;
    case ComputeKind::kSourceCollection:
      return collection;
    case ComputeKind::kRunId:
      return context.run_id;
    case ComputeKind::kMigrationTimestamp:
      return context.migration_timestamp;
  }
  return std::string();
}

std::expected<Metadata, std::string> build_metadata(const Mapping& m, const std::string& collection,
                                                    const Record& record,
                                                    const TransformContext& context) {
  const Metadata& source = record.metadata;
  Metadata out;
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const MappingFieldRule& rule = m.fields[i];
    switch (rule.kind) {
      case MappingFieldRule::Kind::kCopy: {
        const auto it = source.find(rule.from);
        if (it == source.end()) {
          if (rule.default_value) out[rule.to] = *rule.default_value;
          break;
        }
        if (!rule.cast) {
          out[rule.to] = it->second;
          break;
        }
        auto cast = cast_meta_value(it->second, *rule.cast);
        if (!cast) {
          return Problem("fields[" + std::to_string(i) + "] (" + quoted(rule.to) + "): key " +
                         quoted(rule.from) + " value " + describe_meta_value(it->second) +
                         " cannot be cast to " + value_type_name(*rule.cast) + ": " + cast.error());
        }
        out[rule.to] = std::move(*cast);
        break;
      }
      case MappingFieldRule::Kind::kConst:
        out[rule.to] = rule.constant;
        break;
      case MappingFieldRule::Kind::kCompute:
        out[rule.to] = computed(rule.compute, collection, record, context);
        break;
    }
  }
  if (m.unmapped_keys == Mapping::UnmappedKeys::kKeep) {
    for (const auto& [key, value] : source) {
      // A key some rule writes belongs to that rule, even when the rule produced nothing.
      if (!m.consumed_keys.contains(key) && !m.owned_keys.contains(key)) out.emplace(key, value);
    }
  }
  return out;
}

std::expected<std::string, std::string> render_id(const Mapping& m, const std::string& collection,
                                                  const Record& record) {
  if (!m.id_template) return record.id;
  std::string id;
  for (const auto& part : m.id_parts) {
    switch (part.kind) {
      case IdTemplatePart::Kind::kLiteral:
        id += part.text;
        break;
      case IdTemplatePart::Kind::kId:
        id += record.id;
        break;
      case IdTemplatePart::Kind::kSourceCollection:
        id += collection;
        break;
      case IdTemplatePart::Kind::kMeta: {
        const auto it = record.metadata.find(part.text);
        if (it == record.metadata.end()) {
          return Problem("id_template placeholder {meta." + part.text + "}: key " +
                         quoted(part.text) + " is missing, cannot render it as a string id");
        }
        id += meta_value_to_string(it->second);
        break;
      }
    }
  }
  if (id.empty()) return Problem("id_template renders an empty id (Chroma rejects empty ids)");
  return id;
}

Status check_context(const Mapping& m, const TransformContext& context) {
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const auto& rule = m.fields[i];
    if (rule.kind != MappingFieldRule::Kind::kCompute) continue;
    const bool missing =
        (rule.compute == ComputeKind::kRunId && context.run_id.empty()) ||
        (rule.compute == ComputeKind::kMigrationTimestamp && context.migration_timestamp.empty());
    if (missing) {
      return make_error(ErrorCode::kInvalidArgument,
                        m.origin + ": fields[" + std::to_string(i) + "] computes " +
                            compute_name(rule.compute) + " but the transform context has none");
    }
  }
  return ok_status();
}

}  // namespace

Result<Transformed> transform_record(const Mapping& m, const std::string& source_collection,
                                     const Record& record, const TransformContext& context) {
  // Built only when something goes wrong: this runs once per record.
  auto what = [&] { return "record " + quoted(record.id) + " of " + quoted(source_collection); };
  if (std::ranges::none_of(m.routes, [&](const Route& r) { return reads(r, source_collection); })) {
    return make_error(ErrorCode::kInvalidArgument, m.origin + ": collection " +
                                                       quoted(source_collection) +
                                                       " is not read by any route of this mapping");
  }
  CM_RETURN_IF_ERROR(check_context(m, context));

  Transformed out;
  if (const Route* route = first_match(m, source_collection, record.metadata)) {
    out.target = route->to;
    out.route = route->label;
  } else if (m.unmatched.kind == UnmatchedPolicy::Kind::kRoute) {
    out.target = m.unmatched.to;
    out.route = "unmatched";
  } else if (m.unmatched.kind == UnmatchedPolicy::Kind::kSkip) {
    out.outcome = Transformed::Outcome::kSkippedUnmatched;
    out.route = "unmatched";
    out.record = record;
    out.problem = what() + " matches no route";
    return out;
  } else {
    return make_error(
        ErrorCode::kInvalidArgument,
        m.origin + ": " + what() + " matches no route and \"unmatched\" is \"error\"");
  }

  auto metadata = build_metadata(m, source_collection, record, context);
  std::expected<std::string, std::string> id = Problem("");
  if (metadata) id = render_id(m, source_collection, record);
  if (!metadata || !id) {
    const std::string problem = what() + ": " + (metadata ? id.error() : metadata.error());
    if (m.on_cast_failure == Mapping::OnCastFailure::kFail) {
      return make_error(ErrorCode::kInvalidArgument, m.origin + ": " + problem);
    }
    out.outcome = Transformed::Outcome::kSkippedCastFailure;
    out.record = record;
    out.problem = problem;
    return out;
  }
  out.record.id = std::move(*id);
  out.record.embedding = record.embedding;
  out.record.document = record.document;
  out.record.metadata = std::move(*metadata);
  out.record.uri = record.uri;  // a mapping reshapes metadata and ids, never the uri
  return out;
}

}  // namespace cm::contracts
