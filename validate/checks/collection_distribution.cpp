// 5. Collection distribution: per target collection, how many records each source route sent
// there (re-derived by ExpectedIndex) against how many the target holds in that collection, and
// records that sit in the wrong collection: an id expected in A, missing from A, found in B.
// transform_report.json, when the run wrote one, must agree with the import snapshot.
// Records missing from every collection of the run are also looked for in the target's other
// collections (by id, batches of 500), so a record moved out of the run's collections is named too.
// Memory: the id hashes of missing records, the ids of up to kMaxLookups of them, and the
// misplaced candidates (ids expected in another collection), besides a counter per
// (collection, route).
#include <unordered_map>
#include <unordered_set>

#include "common/base/atomic_file.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/expected_index.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

constexpr std::size_t kMaxLookups = 100000;

struct Candidate {
  IdHash hash;
  std::string id;
  std::uint32_t found_in = 0;
};

class CollectionDistribution final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "collection_distribution"; }
  std::string title() const override { return "Collection distribution"; }
  RecordObserver* observer() override { return this; }

  void begin_pass(const ValidationContext& ctx) override {
    index_ = ctx.index;
    missing_.assign(index_->collections().size(), {});
  }
  void begin_collection(const CollectionUnderTest& cut) override {
    snapshot_counts_[cut.name()] = cut.expected_records;
  }
  void on_expected(const CollectionUnderTest& cut, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const IdHash h = id_hash(expected[i].id);
      if (!actual[i]) {
        missing_[cut.index].insert(h);
        if (missing_ids_.size() < kMaxLookups) missing_ids_.emplace_back(cut.index, expected[i].id);
      } else if (auto p = index_->placement_in(h, cut.index)) {
        ++actual_[{cut.index, p->group}];
      }
    }
  }
  void on_unexpected(const CollectionUnderTest& cut, std::span<const Record> records) override {
    for (const auto& r : records) {
      const IdHash h = id_hash(r.id);
      if (!index_->placements(h).empty()) candidates_.push_back({h, r.id, cut.index});
    }
  }

  Result<CheckResult> run(ValidationContext& ctx) override {
    CheckResult result;
    const auto& names = index_->collections();
    // Misplaced: expected elsewhere and missing there (present there too is a duplicate: check 6).
    std::map<std::pair<std::string, std::string>, Tally> misplaced;  // (expected in, found in)
    IdHashSet explained;
    for (const auto& c : candidates_) {
      for (const auto& p : index_->placements(c.hash)) {
        if (!missing_[p.collection].contains(c.hash)) continue;
        misplaced[{names[p.collection], names[c.found_in]}].add(c.id);
        explained.insert(c.hash);
        break;
      }
    }
    CM_RETURN_IF_ERROR(look_outside_the_run(ctx, explained, misplaced));
    std::uint64_t misplaced_total = 0;
    for (const auto& [where, tally] : misplaced) {
      result.findings.push_back(records_text(tally.count) + " expected in " + where.first +
                                " found in " + where.second + examples(tally.samples));
      add_samples(result, tally.samples);
      misplaced_total += tally.count;
    }
    bool counts_differ = false;
    nlohmann::json per = nlohmann::json::object();
    for (std::uint32_t c = 0; c < names.size(); ++c)
      per[names[c]] = {{"groups", nlohmann::json::object()}};
    for (const auto& [key, expected] : index_->group_counts()) {
      const auto it = actual_.find(key);
      const std::uint64_t actual = it == actual_.end() ? 0 : it->second;
      const auto& group = index_->groups()[key.second];
      per[names[key.first]]["groups"][group] = {{"expected", expected}, {"actual", actual}};
      if (actual != expected) {
        counts_differ = true;
        result.findings.push_back(names[key.first] + " <- " + group + ": expected " +
                                  records_text(expected) + ", found " + std::to_string(actual));
      }
      if (key.second == ExpectedIndex::kUnattributed && ctx.mapping) {
        counts_differ = true;
        result.findings.push_back(names[key.first] + ": " + records_text(expected) +
                                  " could not be traced to a route by re-running the mapping");
      }
    }
    const bool report_differs = compare_transform_report(ctx, result);
    result.figures = {{"collections", per},
                      {"misplaced_records", misplaced_total},
                      {"transform_report", std::filesystem::exists(report_path(ctx))}};
    result.thresholds = {{"misplaced_records", "FAILED"}, {"route_count_difference", "WARNING"}};
    if (misplaced_total) {
      result.status = CheckStatus::kFailed;
    } else if (counts_differ || report_differs) {
      result.status = CheckStatus::kWarning;
    } else {
      result.findings.push_back("every record is in the collection its route sends it to");
    }
    return result;
  }

 private:
  static std::filesystem::path report_path(const ValidationContext& ctx) {
    return ctx.work.transform_report();
  }

  // Missing records not found in another collection of the run: are they in a collection of the
  // target that the run does not know?
  Status look_outside_the_run(ValidationContext& ctx, const IdHashSet& explained,
                              std::map<std::pair<std::string, std::string>, Tally>& misplaced) {
    std::vector<std::pair<std::uint32_t, std::string>> open;
    for (auto& m : missing_ids_) {
      if (!explained.contains(id_hash(m.second))) open.push_back(std::move(m));
    }
    missing_ids_.clear();
    if (open.empty()) return ok_status();
    CM_ASSIGN_OR_RETURN(auto collections, ctx.target.list_collections());
    for (const auto& c : collections) {
      // The run's own collections (live or staging names) are judged by the record pass.
      if (index_->collection_index(c.name) || ctx.manifest.find_target(c.name)) continue;
      for (std::size_t start = 0; start < open.size(); start += 500) {
        std::vector<std::string> ids;
        std::unordered_map<std::string, std::uint32_t> expected_in;
        for (std::size_t i = start; i < std::min(open.size(), start + 500); ++i) {
          ids.push_back(open[i].second);
          expected_in.emplace(open[i].second, open[i].first);
        }
        CM_ASSIGN_OR_RETURN(auto found, ctx.target.get_records(c, ids));
        for (const auto& r : found) {
          misplaced[{index_->collections()[expected_in.at(r.id)],
                     c.name + " (not a collection of the run)"}]
              .add(r.id);
        }
      }
    }
    return ok_status();
  }

  // The run's own routing report against the import snapshot and the re-derived routes; true
  // when they disagree (the work dir is inconsistent, findings say where).
  bool compare_transform_report(const ValidationContext& ctx, CheckResult& result) const {
    if (!std::filesystem::exists(report_path(ctx))) return false;
    auto text = read_file(report_path(ctx));
    auto report = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!report.is_object()) {
      result.findings.push_back("transform_report.json is unreadable");
      return true;
    }
    bool differs = false;
    const auto targets = report.value("targets", nlohmann::json::object());
    for (const auto& [name, count] : snapshot_counts_) {
      const auto reported = targets.is_object() ? targets.value(name, std::uint64_t{0}) : 0;
      if (reported != count) {
        differs = true;
        result.findings.push_back("transform_report.json: " + name + " <- " +
                                  std::to_string(reported) +
                                  " records, the import snapshot holds " + std::to_string(count));
      }
    }
    std::map<std::string, std::uint64_t> derived;
    for (const auto& [key, n] : index_->group_counts()) derived[index_->groups()[key.second]] += n;
    const auto sources = report.value("sources", nlohmann::json::object());
    for (const auto& [source, details] : sources.items()) {
      const auto routes = details.is_object() ? details.value("routes", nlohmann::json::object())
                                              : nlohmann::json::object();
      for (const auto& [route, n] : routes.items()) {
        const std::string group = source + " -> " + route;
        if (n.is_number_unsigned() && derived[group] != n.get<std::uint64_t>()) {
          differs = true;
          result.findings.push_back("transform_report.json: route " + group + " routed " +
                                    n.dump() + " records, re-running the mapping gives " +
                                    std::to_string(derived[group]));
        }
      }
    }
    return differs;
  }

  const ExpectedIndex* index_ = nullptr;
  std::vector<IdHashSet> missing_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> actual_;
  std::vector<Candidate> candidates_;
  std::vector<std::pair<std::uint32_t, std::string>> missing_ids_;  // (expected in, id)
  std::map<std::string, std::uint64_t> snapshot_counts_;
};

}  // namespace

std::unique_ptr<Check> make_collection_distribution_check() {
  return std::make_unique<CollectionDistribution>();
}

}  // namespace cm::validate
