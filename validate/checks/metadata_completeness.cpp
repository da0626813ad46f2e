// 3. Metadata completeness and fidelity: every record's metadata equals the expected record's
// exactly (same keys, same types, same values: 3, 3.0, true and "3" all differ) and so do its
// document and its uri (Chroma's fifth record field: a uri the target lacks is "missing", any other
// difference, a uri the expected record has not included, is "changed"); with a contract, every
// required key is present (Chroma has no null values, so present means non-null) and, when the
// contract allows no extra fields, no other key appears. Records the run did not bring are held to
// the contract too. Floats compare bitwise, except for the target's documented rounding
// (metadata_values.hpp: 1 ulp on a Chroma HTTP server), which is counted as "server rounding" and
// does not fail the test. Every changed key shows expected and actual values of its first records
// (findings and figures.changed_values). Memory: a tally per (collection, key, kind) with up to
// kMaxSamples value pairs each.
#include <set>

#include "contracts/contract.hpp"
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/checks/metadata_values.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

// A Tally that also keeps "id: expected -> actual" for its samples.
struct ValueTally {
  Tally tally;
  nlohmann::json values = nlohmann::json::array();  // [{id, expected, actual}], kMaxSamples at most
  std::vector<std::string> shown;                   // "id: 0.1 -> 0.10000000000000002"

  void add(const std::string& id, const MetaValue& want, const MetaValue& got) {
    tally.add(id);
    if (values.size() >= kMaxSamples) return;
    const auto w = contracts::render_value(want), g = contracts::render_value(got);
    values.push_back({{"id", id}, {"expected", w}, {"actual", g}});
    shown.push_back(id + ": " + w + " -> " + g);
  }
};

struct CollectionTallies {
  std::string name;
  std::map<std::string, Tally> missing, added, required_missing, extra;
  std::map<std::string, ValueTally> changed, rounded, zero_sign;
  Tally documents;
  Tally uris_missing, uris_changed;
};

void report_values(CheckResult& result, const std::string& collection,
                   const std::map<std::string, ValueTally>& tallies, const std::string& what) {
  for (const auto& [key, t] : tallies) {
    result.findings.push_back(collection + ": key \"" + key + "\" " + what + " in " +
                              records_text(t.tally.count) + examples(t.shown));
    add_samples(result, t.tally.samples);
  }
}

nlohmann::json value_counts(const std::map<std::string, ValueTally>& tallies) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, t] : tallies) out[key] = t.tally.count;
  return out;
}

nlohmann::json value_samples(const std::map<std::string, ValueTally>& tallies) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, t] : tallies) out[key] = t.values;
  return out;
}

class MetadataCompleteness final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "metadata_completeness"; }
  std::string title() const override { return "Metadata completeness"; }
  RecordObserver* observer() override { return this; }

  void begin_pass(const ValidationContext& ctx) override {
    contract_ = ctx.contract;
    rounding_ulps_ = ctx.metadata_float_rounding_ulps;
  }
  void begin_collection(const CollectionUnderTest& cut) override {
    rows_.push_back({});
    rows_.back().name = cut.name();
    required_.clear();
    allowed_.clear();
    if (!contract_) return;
    for (const auto& [key, rule] : contract_->fields) {
      if (!rule.applies_to(cut.name())) continue;
      allowed_.insert(key);
      if (rule.required) required_.push_back(key);
    }
    // Collections the contract does not list are not bound by its field rules.
    listed_ = contract_->find_collection(cut.name()) != nullptr;
  }

  void on_expected(const CollectionUnderTest&, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    auto& t = rows_.back();
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!actual[i]) continue;
      ++compared_;
      const Record& want = expected[i];
      const Record& got = *actual[i];
      bool differs = false;
      if (want.document != got.document) {
        t.documents.add(got.id);
        differs = true;
      }
      if (want.uri != got.uri) {
        (want.uri && !got.uri ? t.uris_missing : t.uris_changed).add(got.id);
        differs = true;
      }
      for (const auto& [key, value] : want.metadata) {
        auto it = got.metadata.find(key);
        if (it == got.metadata.end()) {
          t.missing[key].add(got.id);
          differs = true;
        } else {
          switch (compare_metadata_value(value, it->second, rounding_ulps_)) {
            case ValueMatch::kEqual:
              break;
            case ValueMatch::kServerRounding:
              t.rounded[key].add(got.id, value, it->second);
              ++rounded_values_;
              break;
            case ValueMatch::kServerZeroSign:
              t.zero_sign[key].add(got.id, value, it->second);
              ++zero_sign_values_;
              break;
            case ValueMatch::kChanged:
              t.changed[key].add(got.id, value, it->second);
              differs = true;
              break;
          }
        }
      }
      for (const auto& [key, value] : got.metadata) {
        if (!want.metadata.contains(key)) {
          t.added[key].add(got.id);
          differs = true;
        }
      }
      differing_ += differs ? 1 : 0;
      check_contract(got);
    }
  }
  void on_unexpected(const CollectionUnderTest&, std::span<const Record> records) override {
    for (const auto& r : records) check_contract(r);
  }

  Result<CheckResult> run(ValidationContext&) override {
    CheckResult result;
    std::map<std::string, std::uint64_t> totals;
    nlohmann::json per = nlohmann::json::object();
    nlohmann::json changed_values = nlohmann::json::object();
    nlohmann::json rounding_values = nlohmann::json::object();
    for (const auto& t : rows_) {
      report_tallies(result, t.name, t.missing, "missing");
      report_values(result, t.name, t.changed, "changed");
      report_tallies(result, t.name, t.added, "added");
      report_tallies(result, t.name, t.required_missing,
                     "required by contract " + contract_version() + " but absent");
      report_tallies(result, t.name, t.extra, "not allowed by contract " + contract_version());
      if (t.documents.count) {
        result.findings.push_back(t.name + ": document changed in " +
                                  records_text(t.documents.count) + examples(t.documents.samples));
        add_samples(result, t.documents.samples);
      }
      for (const auto& [tally, what] :
           {std::pair{&t.uris_missing, "missing"}, std::pair{&t.uris_changed, "changed"}}) {
        if (!tally->count) continue;
        result.findings.push_back(t.name + ": uri " + what + " in " + records_text(tally->count) +
                                  examples(tally->samples));
        add_samples(result, tally->samples);
      }
      per[t.name] = {{"keys_missing", tally_counts(t.missing)},
                     {"keys_changed", value_counts(t.changed)},
                     {"server_rounding", value_counts(t.rounded)},
                     {"server_zero_sign", value_counts(t.zero_sign)},
                     {"keys_added", tally_counts(t.added)},
                     {"required_missing", tally_counts(t.required_missing)},
                     {"extra_keys", tally_counts(t.extra)},
                     {"documents_changed", t.documents.count},
                     {"uris_missing", t.uris_missing.count},
                     {"uris_changed", t.uris_changed.count}};
      if (!t.changed.empty()) changed_values[t.name] = value_samples(t.changed);
      if (!t.rounded.empty()) rounding_values[t.name] = value_samples(t.rounded);
    }
    const bool failed = !result.findings.empty();
    // The target's own rounding: reported with counts and values, never a failure.
    for (const auto& t : rows_) {
      for (const auto& [key, v] : t.rounded) {
        result.findings.push_back(
            t.name + ": key \"" + key + "\": server rounding: " +
            records_text(v.tally.count, "value") + " stored " + std::to_string(rounding_ulps_) +
            " ulp away by the target's float parsing (within its documented bound, not a "
            "migration fault)" +
            examples(v.shown));
      }
      for (const auto& [key, v] : t.zero_sign) {
        result.findings.push_back(t.name + ": key \"" + key + "\": server normalisation: " +
                                  records_text(v.tally.count, "value") +
                                  " -0.0 stored as 0.0 (the server keeps no negative zero; not a "
                                  "migration fault)" +
                                  examples(v.shown));
      }
    }
    result.figures = {{"records_compared", compared_},
                      {"records_with_differences", differing_},
                      {"required_keys_checked", contract_ != nullptr},
                      {"float_rounding_ulps", rounding_ulps_},
                      {"server_rounding_values", rounded_values_},
                      {"server_zero_sign_values", zero_sign_values_},
                      {"changed_values", changed_values},
                      {"server_rounding_samples", rounding_values},
                      {"collections", per}};
    result.thresholds = {{"difference", "FAILED"},
                         {"server_rounding_ulps", rounding_ulps_},
                         {"contract", contract_ ? contract_version() : "none"}};
    if (failed) {
      result.status = CheckStatus::kFailed;
    } else {
      result.findings.push_back(
          records_text(compared_) + " with exactly the expected metadata, document and uri" +
          (rounded_values_ || zero_sign_values_
               ? " (floats within the server's rounding and normalisation, counted above)"
               : "") +
          (contract_ ? " and every required key" : ""));
    }
    return result;
  }

 private:
  std::string contract_version() const { return contract_ ? contract_->version : ""; }

  void check_contract(const Record& r) {
    if (!contract_ || !listed_) return;
    auto& t = rows_.back();
    for (const auto& key : required_) {
      if (!r.metadata.contains(key)) t.required_missing[key].add(r.id);
    }
    if (contract_->allow_extra_fields) return;
    for (const auto& [key, value] : r.metadata) {
      if (!allowed_.contains(key)) t.extra[key].add(r.id);
    }
  }

  const contracts::Contract* contract_ = nullptr;
  std::uint64_t rounding_ulps_ = 0, rounded_values_ = 0, zero_sign_values_ = 0;
  bool listed_ = false;
  std::vector<std::string> required_;
  std::set<std::string> allowed_;
  std::vector<CollectionTallies> rows_;
  std::uint64_t compared_ = 0, differing_ = 0;
};

}  // namespace

std::unique_ptr<Check> make_metadata_completeness_check() {
  return std::make_unique<MetadataCompleteness>();
}

}  // namespace cm::validate
