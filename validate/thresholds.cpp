#include "validate/thresholds.hpp"

#include <cmath>
#include <functional>
#include <sstream>
#include <vector>

#include "common/base/atomic_file.hpp"

namespace cm::validate {
namespace {

// One overridable field: its key, how it is read, and the range it must fall in.
struct Field {
  const char* key;
  double min, max;
  bool integer;
  std::function<void(Thresholds&, double)> set;
  std::function<double(const Thresholds&)> get;
};

const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = {
      {.key = "data_loss_warning_pct",
       .min = 0,
       .max = 100,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.data_loss_warning_pct = v; },
       .get = [](const Thresholds& t) { return t.data_loss_warning_pct; }},
      {.key = "data_loss_fail_pct",
       .min = 0,
       .max = 100,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.data_loss_fail_pct = v; },
       .get = [](const Thresholds& t) { return t.data_loss_fail_pct; }},
      {.key = "embedding_mismatch_max",
       .min = 0,
       .max = 1e15,
       .integer = true,
       .set = [](Thresholds& t,
                 double v) { t.embedding_mismatch_max = static_cast<std::uint64_t>(v); },
       .get = [](const Thresholds& t) { return static_cast<double>(t.embedding_mismatch_max); }},
      {.key = "recall_threshold",
       .min = 0,
       .max = 1,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.recall_threshold = v; },
       .get = [](const Thresholds& t) { return t.recall_threshold; }},
      {.key = "distance_tie_tolerance",
       .min = 0,
       .max = 1e6,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.distance_tie_tolerance = v; },
       .get = [](const Thresholds& t) { return t.distance_tie_tolerance; }},
      {.key = "semantic_divergence_warning_pct",
       .min = 0,
       .max = 100,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.semantic_divergence_warning_pct = v; },
       .get = [](const Thresholds& t) { return t.semantic_divergence_warning_pct; }},
      {.key = "semantic_divergence_fail_pct",
       .min = 0,
       .max = 100,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.semantic_divergence_fail_pct = v; },
       .get = [](const Thresholds& t) { return t.semantic_divergence_fail_pct; }},
      {.key = "ann_recall_warning_floor",
       .min = 0,
       .max = 1,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.ann_recall_warning_floor = v; },
       .get = [](const Thresholds& t) { return t.ann_recall_warning_floor; }},
      {.key = "near_duplicate_similarity",
       .min = 0,
       .max = 1,
       .integer = false,
       .set = [](Thresholds& t, double v) { t.near_duplicate_similarity = v; },
       .get = [](const Thresholds& t) { return t.near_duplicate_similarity; }},
      {.key = "baseline_memory_mb",
       .min = 0,
       .max = 1e6,
       .integer = true,
       .set = [](Thresholds& t, double v) { t.baseline_memory_mb = static_cast<std::uint64_t>(v); },
       .get = [](const Thresholds& t) { return static_cast<double>(t.baseline_memory_mb); }},
  };
  return kFields;
}

std::string known_keys() {
  std::string out;
  for (const auto& f : fields()) out += (out.empty() ? "" : ", ") + std::string(f.key);
  return out;
}

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Result<Thresholds> parse_thresholds(const nlohmann::json& document, const std::string& origin,
                                    Thresholds base) {
  if (!document.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, origin + ": must be a JSON object");
  }
  for (const auto& [key, value] : document.items()) {
    const Field* field = nullptr;
    for (const auto& f : fields()) {
      if (key == f.key) field = &f;
    }
    if (!field) {
      return make_error(
          ErrorCode::kInvalidArgument,
          origin + ": " + key + ": unknown key (expected one of " + known_keys() + ")");
    }
    const std::string place = origin + ": " + key;
    if (!value.is_number() || (field->integer && !value.is_number_unsigned())) {
      return make_error(ErrorCode::kInvalidArgument,
                        place + ": must be " +
                            (field->integer ? "a non-negative integer" : "a number") + " (found " +
                            value.dump() + ")");
    }
    const double v = value.get<double>();
    if (!std::isfinite(v) || v < field->min || v > field->max) {
      return make_error(ErrorCode::kInvalidArgument,
                        place + ": must be in [" + number_text(field->min) + ", " +
                            number_text(field->max) + "] (found " + value.dump() + ")");
    }
    field->set(base, v);
  }
  if (base.data_loss_warning_pct > base.data_loss_fail_pct) {
    return make_error(ErrorCode::kInvalidArgument,
                      origin + ": data_loss_warning_pct must not exceed data_loss_fail_pct");
  }
  if (base.semantic_divergence_warning_pct > base.semantic_divergence_fail_pct) {
    return make_error(
        ErrorCode::kInvalidArgument,
        origin + ": semantic_divergence_warning_pct must not exceed semantic_divergence_fail_pct");
  }
  return base;
}

Result<Thresholds> load_thresholds(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    return make_error(ErrorCode::kNotFound, "thresholds file " + path.string() + " does not exist");
  }
  CM_ASSIGN_OR_RETURN(std::string text, read_file(path));
  // Comments allowed, as in mapping and contract files.
  auto document = nlohmann::json::parse(text, nullptr, false, true);
  if (document.is_discarded()) {
    return make_error(ErrorCode::kInvalidArgument, path.filename().string() + ": not valid JSON");
  }
  return parse_thresholds(document, path.filename().string());
}

nlohmann::json thresholds_to_json(const Thresholds& thresholds) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : fields()) {
    if (f.integer) {
      out[f.key] = static_cast<std::uint64_t>(f.get(thresholds));
    } else {
      out[f.key] = f.get(thresholds);
    }
  }
  return out;
}

}  // namespace cm::validate
