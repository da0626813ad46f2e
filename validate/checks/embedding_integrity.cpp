// 2. Embedding integrity: every record's vector has the right dimension (the contract's, else the
// expected collection's), only finite values, and equals the expected vector under the rule of the
// collection's distance space (common/store/embedding_compare.hpp): bit for bit for l2 and ip; for
// cosine within 4 * FLT_EPSILON * |a|_2 per component, because Chroma stores cosine vectors
// normalised and returns v/|v| * |v| in float32 (a few roundings of values at most |a|_2). A target
// collection whose distance space differs from the planned one fails too: every distance changes
// with it, and so does one whose configuration differs from the planned one (the expected
// snapshot's, which the mapping's target settings already applied): e.g. an embedding_function
// lost or changed means clients embed their query texts with another model
// (common/store/collection_config.hpp says how configurations compare). Memory: worst-case
// figures and samples only.
#include <algorithm>
#include <array>
#include <cmath>

#include "common/store/collection_config.hpp"
#include "common/store/embedding_compare.hpp"
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

// The distribution of each compared record's largest per-component error (the HTML page's plot):
// bitwise equal, below 1e-9, then one bin per decade up to 0.1, and 0.1 or more. Bounded.
struct ErrorHistogram {
  static constexpr int kFirstDecade = -9, kLastDecade = -1;  // bins [1e-9, 1e-8) ... [1e-2, 1e-1)
  std::array<std::uint64_t, 2 + (kLastDecade - kFirstDecade) + 1> counts{};
  void add(double error) {
    if (!(error > 0)) {
      ++counts[0];
    } else if (error < std::pow(10.0, kFirstDecade)) {
      ++counts[1];
    } else {
      const int decade = std::min(kLastDecade, static_cast<int>(std::floor(std::log10(error))));
      ++counts[static_cast<std::size_t>(2 + decade - kFirstDecade)];
    }
  }
  // Each bin: its label, the lower bound `from` (inclusive) and upper `to` (exclusive; null: none).
  nlohmann::json to_json() const {
    nlohmann::json bins = nlohmann::json::array();
    bins.push_back({{"label", "0 (equal)"}, {"from", 0.0}, {"to", 0.0}, {"count", counts[0]}});
    bins.push_back({{"label", "<1e-9"},
                    {"from", 0.0},
                    {"to", std::pow(10.0, kFirstDecade)},
                    {"count", counts[1]}});
    for (int d = kFirstDecade; d <= kLastDecade; ++d) {
      const bool last = d == kLastDecade;
      bins.push_back({{"label", last ? std::string(">=0.1") : "1e" + std::to_string(d)},
                      {"from", std::pow(10.0, d)},
                      {"to", last ? nlohmann::json() : nlohmann::json(std::pow(10.0, d + 1))},
                      {"count", counts[static_cast<std::size_t>(2 + d - kFirstDecade)]}});
    }
    return {{"bins", bins}};
  }
};

class EmbeddingIntegrity final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "embedding_integrity"; }
  std::string title() const override { return "Embedding integrity"; }
  RecordObserver* observer() override { return this; }

  void begin_pass(const ValidationContext& ctx) override { contract_ = ctx.contract; }

  void begin_collection(const CollectionUnderTest& cut) override {
    space_ = cut.expected.hnsw.space;
    dimension_.reset();
    if (contract_) {
      if (const auto* e = contract_->find_collection(cut.name()); e && e->dimension) {
        dimension_ = *e->dimension;
      }
    }
    if (!dimension_) dimension_ = cut.expected.dimension;
    if (cut.actual && cut.actual->hnsw.space != space_) {
      findings_.push_back(cut.name() + ": distance space is " + cut.actual->hnsw.space +
                          ", the run created it as " + space_ +
                          ": every distance, and so every search result, changes");
    }
    if (cut.actual) {
      // The planned hnsw is the expected collection's `hnsw` (a mapping's target settings land
      // there); its `configuration` still carries the source's, so the planned values win.
      nlohmann::json planned = cut.expected.configuration.is_object() ? cut.expected.configuration
                                                                      : nlohmann::json::object();
      planned["hnsw"] = hnsw_to_json(cut.expected.hnsw);
      for (const auto& difference : configuration_differences(planned, cut.actual->configuration)) {
        if (difference.starts_with("hnsw.space:")) continue;  // reported above, and it fails
        // Index tuning (ef_search, max_neighbors, ...) changes recall and speed, not results'
        // meaning: a warning. Anything else (embedding_function, keys Chroma adds later) fails.
        (difference.starts_with("hnsw.") ? config_warnings_ : config_failures_)
            .push_back(cut.name() + ": configuration differs from the planned one: " + difference);
      }
    }
    rows_.push_back({cut.name(), space_, cut.actual ? cut.actual->hnsw.space : "", dimension_});
  }

  void on_expected(const CollectionUnderTest&, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!actual[i] || !shape_ok(*actual[i])) continue;
      const auto d = compare_embeddings(space_, expected[i].embedding, actual[i]->embedding);
      ++compared_;
      ++rows_.back().compared;
      worst_abs_ = std::max(worst_abs_, d.max_abs_error);
      error_histogram_.add(d.max_abs_error);
      worst_rel_ = std::max(worst_rel_, d.relative_error);
      min_cos_ = std::min(min_cos_, d.cosine_similarity);
      if (!d.equivalent) {
        beyond_.add(expected[i].id);
        ++rows_.back().beyond;
      }
    }
  }
  void on_unexpected(const CollectionUnderTest&, std::span<const Record> records) override {
    for (const auto& r : records) shape_ok(r);  // no reference vector, but still well-formed
  }

  Result<CheckResult> run(ValidationContext& ctx) override {
    CheckResult result;
    result.findings = findings_;
    const bool space_changed = !findings_.empty();
    result.findings.insert(result.findings.end(), config_failures_.begin(), config_failures_.end());
    result.findings.insert(result.findings.end(), config_warnings_.begin(), config_warnings_.end());
    if (wrong_dimension_.count) {
      result.findings.push_back(records_text(wrong_dimension_.count) + " with the wrong dimension" +
                                examples(wrong_dimension_.samples));
    }
    if (non_finite_.count) {
      result.findings.push_back(records_text(non_finite_.count) + " with NaN or infinite values" +
                                examples(non_finite_.samples));
    }
    if (beyond_.count) {
      result.findings.push_back(records_text(beyond_.count) +
                                " whose vector differs from the expected one beyond the bound" +
                                examples(beyond_.samples));
    }
    add_samples(result, wrong_dimension_.samples);
    add_samples(result, non_finite_.samples);
    add_samples(result, beyond_.samples);
    nlohmann::json per = nlohmann::json::object();
    for (const auto& r : rows_) {
      per[r.name] = {{"space", r.space},
                     {"actual_space", r.actual_space},
                     {"dimension", r.dimension ? nlohmann::json(*r.dimension) : nlohmann::json()},
                     {"compared", r.compared},
                     {"beyond_bound", r.beyond}};
    }
    result.figures = {
        {"records_compared", compared_},
        {"beyond_bound", beyond_.count},
        {"wrong_dimension", wrong_dimension_.count},
        {"non_finite", non_finite_.count},
        {"configuration_differences", config_failures_.size() + config_warnings_.size()},
        {"worst_max_abs_error", worst_abs_},
        {"worst_relative_error", worst_rel_},
        {"min_cosine_similarity", min_cos_},
        {"max_abs_error_histogram", error_histogram_.to_json()},
        {"collections", per}};
    result.thresholds = {{"bound",
                          {{"l2", "bitwise"},
                           {"ip", "bitwise"},
                           {"cosine", "|a_i - b_i| <= 4 * FLT_EPSILON * |a|_2"}}},
                         {"embedding_mismatch_max", ctx.thresholds.embedding_mismatch_max},
                         {"dimension", contract_ ? "contract" : "expected collection"}};
    if (space_changed || wrong_dimension_.count || non_finite_.count ||
        beyond_.count > ctx.thresholds.embedding_mismatch_max || !config_failures_.empty()) {
      result.status = CheckStatus::kFailed;
    } else if (!config_warnings_.empty()) {
      result.status = std::max(result.status, CheckStatus::kWarning);
    }
    if (result.findings.empty()) {
      result.findings.push_back(records_text(compared_, "vector") +
                                " equal to the expected ones within the bound of their space");
    }
    return result;
  }

 private:
  // Dimension and finiteness; false when the vector cannot be compared.
  bool shape_ok(const Record& r) {
    if (dimension_ && r.embedding.size() != static_cast<std::size_t>(*dimension_)) {
      wrong_dimension_.add(r.id);
      return false;
    }
    if (!std::all_of(r.embedding.begin(), r.embedding.end(),
                     [](float x) { return std::isfinite(x); })) {
      non_finite_.add(r.id);
      return false;
    }
    return true;
  }

  const contracts::Contract* contract_ = nullptr;
  std::string space_;
  std::optional<int> dimension_;
  std::vector<std::string> findings_;
  std::vector<std::string> config_failures_, config_warnings_;
  struct Row {
    std::string name, space, actual_space;
    std::optional<int> dimension;
    std::uint64_t compared = 0, beyond = 0;
  };
  std::vector<Row> rows_;
  std::uint64_t compared_ = 0;
  double worst_abs_ = 0, worst_rel_ = 0, min_cos_ = 1;
  ErrorHistogram error_histogram_;
  Tally beyond_, wrong_dimension_, non_finite_;
};

}  // namespace

std::unique_ptr<Check> make_embedding_integrity_check() {
  return std::make_unique<EmbeddingIntegrity>();
}

}  // namespace cm::validate
