// 7. Field type validation: every metadata value has its contract type (int, float, bool and
// string kept apart, as Chroma stores them: 3 is not 3.0 and "3" is neither) and meets the rule's
// enum, range and pattern, checked by the same contracts::ContractChecker migrate uses. Presence
// of required keys is check 3's, references are check 8's, so the checker here runs a copy of the
// contract reduced to type and value rules. With or without a contract, a value whose type differs
// from the expected record's fails. Memory: the checker's findings and a tally per type change.
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

// The contract's type and value rules only (see the file comment).
contracts::Contract value_rules_only(const contracts::Contract& contract) {
  contracts::Contract reduced = contract;
  reduced.allow_extra_fields = true;
  for (auto& c : reduced.collections) {
    c.dimension.reset();
    c.space.reset();
    c.embedding_model.reset();
  }
  for (auto& [key, rule] : reduced.fields) {
    rule.required = false;
    rule.references_ids = false;
  }
  return reduced;
}

bool is_value_finding(const std::string& kind) {
  namespace k = contracts::kind;
  return kind == k::kWrongType || kind == k::kEnumViolation || kind == k::kRangeViolation ||
         kind == k::kPatternViolation;
}

class FieldTypeValidation final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "field_type_validation"; }
  std::string title() const override { return "Field type validation"; }
  RecordObserver* observer() override { return this; }

  void begin_pass(const ValidationContext& ctx) override {
    if (!ctx.contract) return;
    reduced_ = value_rules_only(*ctx.contract);
    checker_ = std::make_unique<contracts::ContractChecker>(reduced_);
  }
  void begin_collection(const CollectionUnderTest& cut) override { collection_ = cut.name(); }
  void on_expected(const CollectionUnderTest&, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!actual[i]) continue;
      check(*actual[i]);
      for (const auto& [key, value] : actual[i]->metadata) {
        auto it = expected[i].metadata.find(key);
        if (it == expected[i].metadata.end() || it->second.index() == value.index()) continue;
        changes_[collection_][key + "\" is " + value_type_name(value) + ", expected " +
                              value_type_name(it->second)]
            .add(actual[i]->id);
      }
    }
  }
  void on_unexpected(const CollectionUnderTest&, std::span<const Record> records) override {
    for (const auto& r : records) check(r);
  }

  Result<CheckResult> run(ValidationContext& ctx) override {
    CheckResult result;
    std::vector<contracts::Finding> findings;
    if (checker_) {
      for (auto& f : checker_->finish()) {
        if (is_value_finding(f.kind)) findings.push_back(std::move(f));
      }
    }
    if (!findings.empty()) {
      const std::string text = contracts::render_findings(findings);
      for (std::size_t start = 0; start < text.size();) {
        const auto end = text.find('\n', start);
        result.findings.push_back(text.substr(start, end - start));
        start = end == std::string::npos ? text.size() : end + 1;
      }
      for (const auto& f : findings) add_samples(result, f.sample_ids);
    }
    std::uint64_t type_changes = 0;
    nlohmann::json per = nlohmann::json::object();
    for (const auto& [collection, tallies] : changes_) {
      for (const auto& [what, tally] : tallies) {
        result.findings.push_back(collection + ": key \"" + what +
                                  " (as in the expected record) in " + records_text(tally.count) +
                                  examples(tally.samples));
        add_samples(result, tally.samples);
        type_changes += tally.count;
      }
      per[collection] = tally_counts(tallies);
    }
    std::map<std::string, std::uint64_t> by_kind;
    for (const auto& f : findings) by_kind[f.kind] += f.count;
    result.figures = {{"values_checked", values_},
                      {"contract_findings", by_kind},
                      {"type_changes", type_changes},
                      {"type_changes_by_collection", per}};
    result.thresholds = {{"contract", ctx.contract ? ctx.contract->version : "none"},
                         {"violation", "FAILED"}};
    if (!findings.empty() || type_changes) {
      result.status = CheckStatus::kFailed;
    } else if (!ctx.contract) {
      result.findings.push_back(
          "no contract: types compared against the expected records by check 3 (and here: no "
          "value changed its type)");
    } else {
      result.findings.push_back(std::to_string(values_) + " metadata values meet contract " +
                                ctx.contract->version + " and keep their expected types");
    }
    return result;
  }

 private:
  void check(const Record& r) {
    values_ += r.metadata.size();
    if (checker_) checker_->check_record(collection_, r);
  }

  contracts::Contract reduced_;
  std::unique_ptr<contracts::ContractChecker> checker_;
  std::string collection_;
  std::uint64_t values_ = 0;
  std::map<std::string, std::map<std::string, Tally>> changes_;
};

}  // namespace

std::unique_ptr<Check> make_field_type_validation_check() {
  return std::make_unique<FieldTypeValidation>();
}

}  // namespace cm::validate
