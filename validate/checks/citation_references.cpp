// 8. Citation references: every metadata value of a field the contract marks `"references": "id"`
// names a record that exists in the target, in any collection: the run's collections (what is
// there now, not what should be), and for values not found there, any other collection of the
// target database. "" cites nothing. Without a contract or reference fields there is nothing to
// check. A reference that does not resolve is told apart by where it came from:
//   - broken by the migration (FAILED): its target is expected (the run brought it, or should
//     have), or the record's reference is not the expected one, or the record is not the run's;
//   - already dangling in the expected data (the import snapshot: the source as mapped): the
//     expected record holds the same value and no expected record has that id. Counted, and a
//     WARNING, unless the operator accepted exactly that finding at preflight with
//     --allow-contract-drift (accepted_drift.json lists it by collection, key, record id and
//     value): then it is reported with counts and the test passes.
// Memory: with a reference field in the contract, a 128-bit hash per target record of the run's
// collections and per expected id (none without one), plus the
// references not yet resolved when their record streamed past (forward references), plus the
// accepted references of accepted_drift.json.
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

struct Reference {
  std::string collection, key, record_id, value;
  bool as_expected = false;  // the expected record holds the same value under the same key
};

std::string accepted_key(const std::string& collection, const std::string& key,
                         const std::string& id, const std::string& value) {
  nlohmann::json j = {collection, key, id, value};
  return j.dump();
}

// The dangling references the operator accepted at preflight, added to `out`; none when there is
// no file. (An out-parameter: GCC 12 warns falsely on a Result<unordered_set> here.)
Status load_accepted(const WorkDir& work, std::unordered_set<std::string>& out) {
  if (!std::filesystem::exists(work.accepted_drift())) return ok_status();
  CM_ASSIGN_OR_RETURN(auto text, read_file(work.accepted_drift()));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("dangling_references") ||
      !j["dangling_references"].is_array()) {
    return make_error(ErrorCode::kCorruption,
                      work.accepted_drift().string() + ": no dangling_references array");
  }
  for (const auto& r : j["dangling_references"]) {
    if (!r.is_object() || !r.value("collection", nlohmann::json()).is_string() ||
        !r.value("key", nlohmann::json()).is_string() ||
        !r.value("id", nlohmann::json()).is_string() ||
        !r.value("value", nlohmann::json()).is_string()) {
      return make_error(ErrorCode::kCorruption, work.accepted_drift().string() +
                                                    ": malformed dangling reference " + r.dump());
    }
    out.insert(accepted_key(r["collection"], r["key"], r["id"], r["value"]));
  }
  return ok_status();
}

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
  // Without a reference field there is nothing to resolve: no id is kept (they would be 20 bytes
  // per record of the run, most of a large validation's memory, for nothing).
  bool tracking() const { return !fields_.empty(); }
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
    if (!tracking()) return;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      expected_ids_.insert(id_hash(expected[i].id));
      if (actual[i]) visit(*actual[i], &expected[i]);
    }
  }
  void on_unexpected(const CollectionUnderTest&, std::span<const Record> records) override {
    if (!tracking()) return;
    for (const auto& r : records) visit(r, nullptr);
  }
  void on_retained(const CollectionUnderTest&, std::span<const std::string> ids) override {
    if (!tracking()) return;
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
    std::unordered_set<std::string> accepted;
    if (!unresolved.empty()) {
      CM_RETURN_IF_ERROR(load_accepted(ctx.work, accepted));
    }
    // Broken by the migration / already dangling, not accepted / already dangling, accepted.
    enum Kind { kBroken, kPreexisting, kAccepted };
    std::map<std::pair<std::string, std::string>, Tally> tallies[3];
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> shown[3];
    std::uint64_t counts[3] = {0, 0, 0};
    for (const auto& r : unresolved) {
      Kind kind = kBroken;
      if (r.as_expected && !expected_ids_.contains(id_hash(r.value))) {
        kind = accepted.contains(accepted_key(r.collection, r.key, r.record_id, r.value))
                   ? kAccepted
                   : kPreexisting;
      }
      ++counts[kind];
      auto& tally = tallies[kind][{r.collection, r.key}];
      if (tally.samples.size() < 3)
        shown[kind][{r.collection, r.key}].push_back(r.record_id + " -> \"" + r.value + "\"");
      tally.add(r.record_id);
    }
    const char* what[3] = {
        " to ids that do not exist (broken by the migration: the expected data resolves them, "
        "or the reference is not the expected one)",
        " that already dangled in the expected data (the source as the run imported it), not "
        "accepted at preflight",
        " that already dangled in the expected data, accepted at preflight with "
        "--allow-contract-drift"};
    for (int kind : {kBroken, kPreexisting, kAccepted}) {
      for (const auto& [where, tally] : tallies[kind]) {
        result.findings.push_back(where.first + ": key \"" + where.second +
                                  "\": " + records_text(tally.count, "reference") + what[kind] +
                                  examples(shown[kind][where]));
        if (kind != kAccepted) add_samples(result, tally.samples);
      }
    }
    result.figures = {{"reference_fields", fields_},
                      {"fields_checked", fields_.size()},
                      {"references_checked", checked_},
                      {"resolved", resolved_ + elsewhere},
                      {"resolved_outside_the_run", elsewhere},
                      {"dangling", counts[kBroken]},
                      {"dangling_in_expected_data", counts[kPreexisting] + counts[kAccepted]},
                      {"dangling_in_expected_data_accepted", counts[kAccepted]}};
    result.thresholds = {{"dangling_references", "FAILED"},
                         {"dangling_in_expected_data", "WARNING unless accepted at preflight"}};
    if (counts[kBroken]) {
      result.status = CheckStatus::kFailed;
    } else if (counts[kPreexisting]) {
      result.status = CheckStatus::kWarning;
    } else if (counts[kAccepted]) {
      result.findings.push_back("every other reference resolves (" +
                                records_text(checked_ - counts[kAccepted], "reference") + ")");
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
  void visit(const Record& r, const Record* want) {
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
        bool as_expected = false;
        if (want) {
          auto w = want->metadata.find(key);
          as_expected = w != want->metadata.end() && w->second == it->second;
        }
        pending_.push_back({collection_, key, r.id, *value, as_expected});
      }
    }
  }

  // References to records of target collections outside the run; removes them from `refs`.
  Result<std::uint64_t> resolve_elsewhere(ValidationContext& ctx, std::vector<Reference>& refs) {
    if (refs.empty()) return std::uint64_t{0};
    CM_ASSIGN_OR_RETURN(auto collections, ctx.target.list_collections());
    IdHashSet found;
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
  IdHashSet ids_, expected_ids_;
  std::vector<Reference> pending_;
  std::uint64_t checked_ = 0, resolved_ = 0;
};

}  // namespace

std::unique_ptr<Check> make_citation_references_check() {
  return std::make_unique<CitationReferences>();
}

}  // namespace cm::validate
