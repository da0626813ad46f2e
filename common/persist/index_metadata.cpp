#include "common/persist/index_metadata.hpp"

#include <algorithm>

#include "common/persist/pickle_reader.hpp"

namespace cm {
namespace {

std::unexpected<Error> bad_label_map(const std::string& why) {
  return make_error(ErrorCode::kCorruption, why);
}

// An optional non-negative int field: absent or None -> nullopt.
Result<std::optional<std::uint64_t>> optional_count(const pickle::Dict& dict, const char* key) {
  const pickle::Value* v = dict.find(key);
  if (!v || v->is_none()) return std::optional<std::uint64_t>{};
  const auto* n = v->as_int();
  if (!n || *n < 0) {
    return bad_label_map(std::string("'") + key + "' is a " + v->type_name() +
                         (n ? " below zero" : "") + ", not a count");
  }
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(*n));
}

Result<const pickle::Dict*> dict_field(const pickle::Dict& dict, const char* key) {
  const pickle::Value* v = dict.find(key);
  if (!v) return bad_label_map(std::string("no '") + key + "' map");
  const pickle::Dict* d = v->as_dict();
  if (!d)
    return bad_label_map(std::string("'") + key + "' is a " + v->type_name() + ", not a dict");
  return d;
}

Result<std::vector<LabelEntry>> read_id_to_label(const pickle::Dict& map) {
  std::vector<LabelEntry> out;
  out.reserve(map.items.size());
  for (const auto& [k, v] : map.items) {
    const auto* id = k.as_string();
    const auto* label = v.as_int();
    if (!id || !label || *label < 0) {
      return bad_label_map(std::string("id_to_label holds a ") + k.type_name() + " -> " +
                           v.type_name() + " entry (expected str -> non-negative int)");
    }
    out.push_back({*id, static_cast<std::uint64_t>(*label)});
  }
  return out;
}

// label_to_id must be the exact inverse of id_to_label: the segment's reader trusts either.
Status check_inverse(std::vector<LabelEntry> by_id, const pickle::Dict& label_to_id) {
  if (label_to_id.items.size() != by_id.size()) {
    return bad_label_map("id_to_label has " + std::to_string(by_id.size()) +
                         " entries but label_to_id " + std::to_string(label_to_id.items.size()));
  }
  std::vector<std::pair<std::uint64_t, const std::string*>> by_label;
  by_label.reserve(label_to_id.items.size());
  for (const auto& [k, v] : label_to_id.items) {
    const auto* label = k.as_int();
    const auto* id = v.as_string();
    if (!label || *label < 0 || !id) {
      return bad_label_map(std::string("label_to_id holds a ") + k.type_name() + " -> " +
                           v.type_name() + " entry (expected non-negative int -> str)");
    }
    by_label.emplace_back(static_cast<std::uint64_t>(*label), id);
  }
  std::vector<const std::string*> ids;
  ids.reserve(by_id.size());
  for (const auto& e : by_id) ids.push_back(&e.id);
  std::sort(ids.begin(), ids.end(), [](const auto* a, const auto* b) { return *a < *b; });
  for (std::size_t i = 1; i < ids.size(); ++i) {
    if (*ids[i] == *ids[i - 1])
      return bad_label_map("id '" + *ids[i] + "' occurs twice in id_to_label");
  }
  auto label_less = [](const LabelEntry& a, const LabelEntry& b) { return a.label < b.label; };
  std::sort(by_id.begin(), by_id.end(), label_less);
  std::sort(by_label.begin(), by_label.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < by_id.size(); ++i) {
    if (i > 0 && by_id[i].label == by_id[i - 1].label) {
      return bad_label_map("label " + std::to_string(by_id[i].label) + " is mapped to two ids ('" +
                           by_id[i - 1].id + "' and '" + by_id[i].id + "')");
    }
    if (by_label[i].first != by_id[i].label || *by_label[i].second != by_id[i].id) {
      return bad_label_map("id_to_label and label_to_id disagree at label " +
                           std::to_string(by_id[i].label) + " (id '" + by_id[i].id + "')");
    }
  }
  return ok_status();
}

}  // namespace

Result<IndexMetadata> parse_index_metadata(std::string_view bytes) {
  CM_ASSIGN_OR_RETURN(pickle::Document doc, pickle::parse(bytes));
  IndexMetadata out;
  const pickle::Dict* fields = doc.root.as_dict();
  if (const pickle::Object* object = doc.root.as_object()) {
    if (object->cls.name != "PersistentData") {
      return bad_label_map("the pickle holds a " + object->cls.module + "." + object->cls.name +
                           ", not Chroma's PersistentData");
    }
    fields = object->state.as_dict();
    if (!fields) return bad_label_map("the PersistentData object has no state dict");
    out.shape = IndexMetadata::Shape::kPersistentData;
  }
  if (!fields) {
    return bad_label_map(std::string("the pickle holds a ") + doc.root.type_name() +
                         ", not Chroma's label map (a dict or a PersistentData object)");
  }
  CM_ASSIGN_OR_RETURN(const pickle::Dict* id_to_label, dict_field(*fields, "id_to_label"));
  CM_ASSIGN_OR_RETURN(const pickle::Dict* label_to_id, dict_field(*fields, "label_to_id"));
  CM_ASSIGN_OR_RETURN(out.labels, read_id_to_label(*id_to_label));
  CM_RETURN_IF_ERROR(check_inverse(out.labels, *label_to_id));
  CM_ASSIGN_OR_RETURN(auto total, optional_count(*fields, "total_elements_added"));
  if (!total) return bad_label_map("no 'total_elements_added' count");
  out.total_elements_added = *total;
  CM_ASSIGN_OR_RETURN(out.max_seq_id, optional_count(*fields, "max_seq_id"));
  CM_ASSIGN_OR_RETURN(out.dimensionality, optional_count(*fields, "dimensionality"));
  return out;
}

}  // namespace cm
