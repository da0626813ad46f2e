// 1. Count verification: per target collection, expected records vs what the target holds, the
// expected ids it lacks and the ids it should not hold; data_loss_percentage for the verdict.
// Memory: the sample ids (kMaxSamples per collection and kind) and one small row per collection.
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

struct CollectionCounts {
  std::string name;
  LedgerAction action = LedgerAction::kCreated;
  bool present = false;
  std::uint64_t expected =
      0;  // what must be there: the run's records, plus the kept ones when merged
  std::uint64_t from_run = 0;  // records the run brought (import snapshot)
  std::uint64_t actual = 0;
  std::uint64_t retained = 0;  // merged: records from before the run that are still there
  Tally missing, unexpected;
};

class CountVerification final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "count_verification"; }
  std::string title() const override { return "Count verification"; }
  RecordObserver* observer() override { return this; }

  void begin_collection(const CollectionUnderTest& cut) override {
    CollectionCounts c;
    c.name = cut.name();
    c.action = cut.entry->action;
    c.present = cut.actual.has_value();
    c.from_run = cut.expected_records;
    // A merge keeps what was there: the ledger holds the union's size, computed at import time.
    c.expected =
        c.action == LedgerAction::kMerged ? cut.entry->expected_records : cut.expected_records;
    c.actual = cut.actual_records;
    rows_.push_back(std::move(c));
  }
  void on_expected(const CollectionUnderTest&, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!actual[i]) rows_.back().missing.add(expected[i].id);
    }
  }
  void on_unexpected(const CollectionUnderTest&, std::span<const Record> records) override {
    for (const auto& r : records) rows_.back().unexpected.add(r.id);
  }
  void on_retained(const CollectionUnderTest&, std::span<const std::string> ids) override {
    rows_.back().retained += ids.size();
  }

  Result<CheckResult> run(ValidationContext& ctx) override {
    CheckResult result;
    bool mismatch = false;
    std::uint64_t expected = 0, actual = 0, missing = 0, unexpected = 0;
    double worst_loss = 0.0;  // percent of the worst collection
    std::string worst_collection;
    nlohmann::json per = nlohmann::json::object();
    for (const auto& c : rows_) {
      // Records that were in a merged collection before the run and are gone now are lost too.
      const std::uint64_t kept = c.expected > c.from_run ? c.expected - c.from_run : 0;
      const std::uint64_t lost_kept =
          c.action == LedgerAction::kMerged && kept > c.retained ? kept - c.retained : 0;
      const std::uint64_t lost = c.missing.count + lost_kept;
      expected += c.expected;
      actual += c.actual;
      if (c.expected &&
          100.0 * static_cast<double>(lost) / static_cast<double>(c.expected) > worst_loss) {
        worst_loss = 100.0 * static_cast<double>(lost) / static_cast<double>(c.expected);
        worst_collection = c.name;
      }
      missing += lost;
      unexpected += c.unexpected.count;
      per[c.name] = {{"action", enum_name(c.action)},
                     {"expected", c.expected},
                     {"actual", c.actual},
                     {"missing", lost},
                     {"unexpected", c.unexpected.count},
                     {"present", c.present}};
      if (!c.present) {
        result.findings.push_back(c.name + ": the collection is missing from the target (" +
                                  records_text(c.expected) + " expected)");
      } else if (c.actual != c.expected) {
        result.findings.push_back(c.name + ": expected " + records_text(c.expected) +
                                  ", the target has " + std::to_string(c.actual));
      }
      if (c.present && c.missing.count) {
        result.findings.push_back(c.name + ": " + records_text(c.missing.count) +
                                  " missing from the target" + examples(c.missing.samples));
      }
      if (lost_kept) {
        result.findings.push_back(c.name + ": " + records_text(lost_kept) +
                                  " that the collection held before the merge are gone");
      }
      if (c.unexpected.count) {
        result.findings.push_back(c.name + ": " + records_text(c.unexpected.count) +
                                  " the run did not bring" + examples(c.unexpected.samples));
      }
      mismatch |= !c.present || c.actual != c.expected || lost || c.unexpected.count;
      add_samples(result, c.missing.samples);
      add_samples(result, c.unexpected.samples);
    }
    const double overall_loss =
        expected ? 100.0 * static_cast<double>(missing) / static_cast<double>(expected) : 0.0;
    // The verdict's figure is the worst collection's loss: 6% of one collection gone is data
    // loss even when the other collections dilute it to 1.5% of the whole migration.
    const double loss = worst_loss;
    const auto& t = ctx.thresholds;
    result.figures = {{"collections", per},
                      {"expected_records", expected},
                      {"actual_records", actual},
                      {"missing_records", missing},
                      {"unexpected_records", unexpected},
                      {"data_loss_percentage", loss},
                      {"data_loss_worst_collection", worst_collection},
                      {"data_loss_percentage_overall", overall_loss}};
    result.thresholds = {{"count_mismatch", "FAILED"},
                         {"data_loss_warning_pct", t.data_loss_warning_pct},
                         {"data_loss_fail_pct", t.data_loss_fail_pct}};
    if (mismatch || loss > t.data_loss_fail_pct) {
      result.status = CheckStatus::kFailed;
    } else if (loss > t.data_loss_warning_pct) {
      result.status = CheckStatus::kWarning;
    }
    if (result.findings.empty()) {
      result.findings.push_back("every collection holds exactly the " + records_text(expected) +
                                " expected");
    }
    return result;
  }

 private:
  std::vector<CollectionCounts> rows_;
};

}  // namespace

std::unique_ptr<Check> make_count_verification_check() {
  return std::make_unique<CountVerification>();
}

}  // namespace cm::validate
