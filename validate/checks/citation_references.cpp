// 8. Citation references: every metadata value of a field the contract marks `"references": "id"`
// names a record that exists in the target, in any collection: the run's collections (what is
// there now, not what should be), and for values not found there, any other collection of the
// target database. "" cites nothing. Without a contract or reference fields there is nothing to
// check. Memory: a 128-bit hash per target record of the run's collections, plus the references
// not yet resolved when their record streamed past (forward references).
#include <unordered_set>

#include "common/store/canonical.hpp"
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

struct Reference {
  std::string collection, key, record_id, value;
};

class CitationReferences final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "citation_references"; }
  std::string title() const override { return "Citation references"; }
  RecordObserver* observer() override { return this; }

  void begin_pass(const ValidationContext& ctx) override {
    if (!ctx.contract) return;
    contract_ = ctx.contract;
    for (const auto& [key, rule] : contract_->fields) {
      if (rule.references_ids) fields_.push_back(key);
    }
  }
  void begin_collection(const CollectionUnderTest& cut) override {
    collection_ = cut.name();
    keys_.clear();
    if (!contract_ || !contract_->find_collection(cut.name())) return;  // unlisted: not bound
    for (const auto& key : fields_) {
      if (contract_->fields.at(key).applies_to(cut.name())) keys_.push_back(key);
    }
  }
  void on_expected(const CollectionUnderTest&, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (actual[i]) visit(*actual[i]);
    }
  }
  void on_unexpected(const CollectionUnderTest&, std::span<const Record> records) override {
    for (const auto& r : records) visit(r);
  }
  void on_retained(const CollectionUnderTest&, std::span<const std::string> ids) override {
    for (const auto& id : ids) ids_.insert(id_hash(id));
  }

  Result<CheckResult> run(ValidationContext& ctx) override {
    CheckResult result;
    std::vector<Reference> unresolved;
    for (auto& r : pending_) {
      if (ids_.contains(id_hash(r.value))) {
        ++resolved_;
      } else {
        unresolved.push_back(std::move(r));
      }
    }
    pending_.clear();
    CM_ASSIGN_OR_RETURN(std::uint64_t elsewhere, resolve_elsewhere(ctx, unresolved));
    std::map<std::pair<std::string, std::string>, Tally> dangling;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> shown;
    for (const auto& r : unresolved) {
      auto& tally = dangling[{r.collection, r.key}];
      if (tally.samples.size() < 3)
        shown[{r.collection, r.key}].push_back(r.record_id + " -> \"" + r.value + "\"");
      tally.add(r.record_id);
    }
    for (const auto& [where, tally] : dangling) {
      result.findings.push_back(where.first + ": key \"" + where.second +
                                "\": " + records_text(tally.count, "reference") +
                                " to ids that do not exist" + examples(shown[where]));
      add_samples(result, tally.samples);
    }
    result.figures = {{"reference_fields", fields_},           {"fields_checked", fields_.size()},
                      {"references_checked", checked_},        {"resolved", resolved_ + elsewhere},
                      {"resolved_outside_the_run", elsewhere}, {"dangling", unresolved.size()}};
    result.thresholds = {{"dangling_references", "FAILED"}};
    if (!unresolved.empty()) {
      result.status = CheckStatus::kFailed;
    } else if (!contract_) {
      result.findings.push_back("no contract: no field is declared a reference");
    } else if (fields_.empty()) {
      result.findings.push_back("contract " + contract_->version +
                                " marks no field as a reference");
    } else {
      result.findings.push_back("all " + records_text(checked_, "reference") + " resolve");
    }
    return result;
  }

 private:
  void visit(const Record& r) {
    ids_.insert(id_hash(r.id));
    for (const auto& key : keys_) {
      auto it = r.metadata.find(key);
      if (it == r.metadata.end()) continue;
      const auto* value = std::get_if<std::string>(&it->second);
      if (!value || value->empty()) continue;  // wrong types are check 7's; "" cites nothing
      ++checked_;
      if (ids_.contains(id_hash(*value))) {
        ++resolved_;
      } else {
        pending_.push_back({collection_, key, r.id, *value});
      }
    }
  }

  // References to records of target collections outside the run; removes them from `refs`.
  Result<std::uint64_t> resolve_elsewhere(ValidationContext& ctx, std::vector<Reference>& refs) {
    if (refs.empty()) return std::uint64_t{0};
    CM_ASSIGN_OR_RETURN(auto collections, ctx.target.list_collections());
    std::unordered_set<IdHash, IdHashHasher> found;
    for (const auto& c : collections) {
      if (ctx.manifest.find_target(c.name)) continue;
      for (std::size_t start = 0; start < refs.size(); start += 500) {
        std::vector<std::string> values;
        for (std::size_t i = start; i < std::min(refs.size(), start + 500); ++i)
          values.push_back(refs[i].value);
        CM_ASSIGN_OR_RETURN(auto records, ctx.target.get_records(c, values));
        for (const auto& r : records) found.insert(id_hash(r.id));
      }
    }
    const auto before = refs.size();
    std::erase_if(refs, [&](const Reference& r) { return found.contains(id_hash(r.value)); });
    return static_cast<std::uint64_t>(before - refs.size());
  }

  const contracts::Contract* contract_ = nullptr;
  std::vector<std::string> fields_, keys_;
  std::string collection_;
  std::unordered_set<IdHash, IdHashHasher> ids_;
  std::vector<Reference> pending_;
  std::uint64_t checked_ = 0, resolved_ = 0;
};

}  // namespace

std::unique_ptr<Check> make_citation_references_check() {
  return std::make_unique<CitationReferences>();
}

}  // namespace cm::validate
