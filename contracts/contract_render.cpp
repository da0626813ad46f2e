// Findings as text for people (one actionable line each) and as JSON for reports.
#include <string>

#include "contracts/contract_internal.hpp"

namespace cm::contracts {
namespace {

// 1204 -> "1,204": counts in reports are read at a glance.
std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string records_text(std::uint64_t count) {
  return with_commas(count) + (count == 1 ? " record" : " records");
}

// "e.g. a = \"3\", b = \"4\", ..." ("..." when more records are affected than sampled).
std::string samples_text(const Finding& f) {
  std::string out = "e.g. ";
  for (std::size_t i = 0; i < f.sample_ids.size(); ++i) {
    if (i > 0) out += ", ";
    out += f.sample_ids[i];
    if (i < f.sample_values.size()) out += " = " + f.sample_values[i];
  }
  if (f.count > f.sample_ids.size()) out += ", ...";
  return out;
}

// " in 1,204 records (e.g. ...)", or "" for a finding about collection settings only.
std::string in_records(const Finding& f) {
  if (f.count == 0) return "";
  std::string out = " in " + records_text(f.count);
  return f.sample_ids.empty() ? out : out + " (" + samples_text(f) + ")";
}

std::string render_line(const Finding& f) {
  const std::string& c = f.collection;
  const std::string key = "key \"" + f.key + "\": ";
  const std::string_view k = f.kind;
  if (k == kind::kMissingCollection) {
    return c + ": collection is missing: migrate into it or remove it from the contract";
  }
  if (k == kind::kUnexpectedCollection) {
    std::string holds;
    if (f.count > 0) {
      holds =
          " (" + records_text(f.count) + (f.sample_ids.empty() ? "" : ", " + samples_text(f)) + ")";
    }
    return c + ": collection is not in the contract" + holds +
           ": add it to the contract's \"collections\" or leave it out of the migration";
  }
  if (k == kind::kWrongSpace) {
    return c + ": space is " + f.actual + ", contract says " + f.expected +
           ": recreate the collection with space " + f.expected + " or fix the contract";
  }
  if (k == kind::kWrongDimension) {
    return c + ": dimension is " + f.actual + ", contract says " + f.expected + in_records(f) +
           ": re-embed with the contract's model or fix the contract";
  }
  if (k == kind::kWrongEmbeddingModel) {
    const std::string where = "collection metadata \"" + f.key + "\"";
    if (f.actual == "(absent)") {
      return c + ": " + where + " is absent, contract says " + f.expected +
             ": set it if the records were embedded with " + f.expected +
             ", otherwise re-embed or fix the contract";
    }
    return c + ": embedding model (" + where + ") is " + f.actual + ", contract says " +
           f.expected + ": re-embed with " + f.expected + " or fix the contract";
  }
  if (k == kind::kNonFiniteEmbedding) {
    return c + ": embedding has NaN or infinite values" + in_records(f) +
           ": Chroma rejects them; fix or drop these records";
  }
  if (k == kind::kMissingKey)
    return c + ": " + key + "required " + f.expected + " missing" + in_records(f);
  if (k == kind::kWrongType) {
    return c + ": " + key + "wrong type, expected " + f.expected + ", found " + f.actual +
           in_records(f);
  }
  if (k == kind::kEnumViolation)
    return c + ": " + key + "value not in " + f.expected + in_records(f);
  if (k == kind::kRangeViolation) {
    return c + ": " + key + "value out of range (" + f.expected + ")" + in_records(f);
  }
  if (k == kind::kPatternViolation) {
    return c + ": " + key + "value does not match pattern " + f.expected + in_records(f);
  }
  if (k == kind::kExtraKey) {
    return c + ": " + key + "not in the contract (allow_extra_fields is false)" + in_records(f);
  }
  if (k == kind::kDanglingReference) {
    return c + ": " + key + "references a record id that does not exist" + in_records(f);
  }
  // A kind this renderer does not know (a newer producer): still say everything there is.
  return c + ": " + f.kind + (f.key.empty() ? "" : " " + key) + " expected " + f.expected +
         ", found " + f.actual + in_records(f);
}

}  // namespace

std::string render_findings(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) out += render_line(f) + "\n";
  return out;
}

nlohmann::json findings_to_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings) {
    out.push_back({{"kind", f.kind},
                   {"collection", f.collection},
                   {"key", f.key},
                   {"expected", f.expected},
                   {"actual", f.actual},
                   {"count", f.count},
                   {"sample_ids", f.sample_ids},
                   {"sample_values", f.sample_values}});
  }
  return out;
}

}  // namespace cm::contracts
