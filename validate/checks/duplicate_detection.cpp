// 6. Duplicate detection, judged against the expected data so that duplicates the source already
// had are not blamed on the migration:
//   - ids: an id the run did not bring into collection B that is expected in A and present there
//     (the same record in two collections);
//   - documents: XXH3-64 of each non-empty document; a hash held by more target records than
//     expected records (at least one) means new copies;
//   - vectors: per collection, pairs of distinct ids with cosine similarity >=
//     near_duplicate_similarity that involve a record the run did not bring or whose vector changed
//     (checks/near_duplicates.hpp: an hnswlib index over those, queried with every record); a pair
//     is new unless both records are expected and their expected vectors are as similar.
// A record copied under a new id is caught by the last two. Memory: one 8-byte document hash
// per record with a document (expected and target), the missing-id hashes, and one collection's ids
// with the suspects' index (its vectors go to a scratch file: checks/near_duplicates.hpp).
#include <unordered_map>
#include <unordered_set>

#include "common/store/canonical.hpp"
#include "common/store/embedding_compare.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/checks/check_util.hpp"
#include "validate/checks/checks.hpp"
#include "validate/checks/near_duplicates.hpp"
#include "validate/expected_index.hpp"
#include "validate/record_pass.hpp"

namespace cm::validate {
namespace {

constexpr std::size_t kMaxPairs = 100000;
constexpr std::size_t kMaxDocumentCandidates = 10000;

struct IdCandidate {
  IdHash hash;
  std::string id;
  std::uint32_t found_in = 0;
};

struct DocumentCopies {
  std::uint64_t new_copies = 0;     // target copies of a document beyond its expected count
  std::uint64_t groups_before = 0;  // documents the expected data already held more than once
  std::unordered_set<std::uint64_t> new_groups;  // documents with new copies
};

// Sorts both lists of document hashes and compares each document's copies, target against
// expected (a document expected once, or not at all, may appear once).
DocumentCopies count_document_copies(std::vector<std::uint64_t>& expected,
                                     std::vector<std::uint64_t>& target) {
  std::sort(expected.begin(), expected.end());
  std::sort(target.begin(), target.end());
  DocumentCopies out;
  for (auto e = expected.begin(); e != expected.end();) {
    const auto next = std::upper_bound(e, expected.end(), *e);
    if (next - e > 1) ++out.groups_before;
    e = next;
  }
  for (auto t = target.begin(); t != target.end();) {
    const auto next = std::upper_bound(t, target.end(), *t);
    const auto [lo, hi] = std::equal_range(expected.begin(), expected.end(), *t);
    const auto n = next - t, allowed = std::max<std::ptrdiff_t>(hi - lo, 1);
    if (n > allowed) {
      out.new_copies += static_cast<std::uint64_t>(n - allowed);
      out.new_groups.insert(*t);
    }
    t = next;
  }
  return out;
}

class DuplicateDetection final : public Check, public RecordObserver {
 public:
  std::string name() const override { return "duplicate_detection"; }
  std::string title() const override { return "Duplicate detection"; }
  RecordObserver* observer() override { return this; }

  void begin_pass(const ValidationContext& ctx) override {
    ctx_ = &ctx;
    missing_.assign(ctx.index->collections().size(), {});
  }
  void begin_collection(const CollectionUnderTest& cut) override {
    const auto dimension = cut.expected.dimension.value_or(0);
    index_.reset();
    unexpected_.clear();
    space_ = cut.expected.hnsw.space;
    if (dimension > 0 && cut.actual) {
      index_ = std::make_unique<NearDuplicateIndex>(static_cast<std::size_t>(dimension),
                                                    static_cast<std::size_t>(cut.actual_records),
                                                    ctx_->work.scratch_dir());
    }
  }
  void on_expected(const CollectionUnderTest& cut, std::span<const Record> expected,
                   std::span<const Record* const> actual) override {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      count_document(expected_docs_, expected[i]);
      if (!actual[i]) {
        missing_[cut.index].insert(id_hash(expected[i].id));
        continue;
      }
      count_document(target_docs_, *actual[i]);
      if (actual[i]->document != expected[i].document) remember_document(*actual[i]);
      if (index_) {
        const bool changed =
            !compare_embeddings(space_, expected[i].embedding, actual[i]->embedding).equivalent;
        index_->add(*actual[i], changed);
      }
    }
  }
  void on_unexpected(const CollectionUnderTest& cut, std::span<const Record> records) override {
    for (const auto& r : records) {
      count_document(target_docs_, r);
      remember_document(r);
      const IdHash h = id_hash(r.id);
      if (!ctx_->index->placements(h).empty()) id_candidates_.push_back({h, r.id, cut.index});
      unexpected_.insert(r.id);
      if (index_) index_->add(r, true);
    }
  }

  Status end_collection(const CollectionUnderTest& cut) override {
    if (!index_) return ok_status();
    CM_ASSIGN_OR_RETURN(
        auto pairs, index_->suspect_pairs(ctx_->thresholds.near_duplicate_similarity, kMaxPairs));
    vectors_ += index_->size();
    suspects_ += index_->suspects();
    index_.reset();
    // Pairs of two expected records are new only if their expected vectors were not as close.
    std::vector<std::string> ids;
    for (const auto& p : pairs) {
      if (!unexpected_.contains(p.a) && !unexpected_.contains(p.b)) {
        ids.push_back(p.a);
        ids.push_back(p.b);
      }
    }
    std::unordered_map<std::string, std::vector<float>> vectors;
    for (std::size_t start = 0; start < ids.size(); start += 500) {
      std::span<const std::string> batch(ids.data() + start,
                                         std::min<std::size_t>(500, ids.size() - start));
      CM_ASSIGN_OR_RETURN(auto records, ctx_->expected.get_records(cut.expected, batch));
      for (auto& r : records) vectors[r.id] = std::move(r.embedding);
    }
    for (const auto& p : pairs) {
      auto a = vectors.find(p.a), b = vectors.find(p.b);
      const bool before =
          a != vectors.end() && b != vectors.end() &&
          cosine_similarity(a->second, b->second) >= ctx_->thresholds.near_duplicate_similarity;
      if (before) {
        ++near_before_;
      } else {
        near_new_.add(cut.name() + ": " + p.a + " ~ " + p.b);
        if (near_ids_.size() < kMaxSamples) near_ids_.insert(near_ids_.end(), {p.a, p.b});
      }
    }
    return ok_status();
  }

  Result<CheckResult> run(ValidationContext& ctx) override {
    CheckResult result;
    const auto& names = ctx.index->collections();
    Tally duplicate_ids;
    for (const auto& c : id_candidates_) {
      for (const auto& p : ctx.index->placements(c.hash)) {
        if (missing_[p.collection].contains(c.hash)) continue;  // moved, not copied: check 5
        duplicate_ids.add(c.id);
        result.findings.push_back("id " + c.id + " is in " + names[p.collection] + " and in " +
                                  names[c.found_in] + "; expected only in " + names[p.collection]);
        break;
      }
    }
    const DocumentCopies copies = count_document_copies(expected_docs_, target_docs_);
    const std::uint64_t new_copies = copies.new_copies, groups_before = copies.groups_before;
    const auto& new_groups = copies.new_groups;
    Tally doc_samples;
    for (const auto& [hash, id] : document_candidates_) {
      if (new_groups.contains(hash)) doc_samples.add(id);
    }
    if (new_copies) {
      result.findings.push_back(
          records_text(new_copies) +
          " whose document duplicates another record's, which the expected data does not" +
          examples(doc_samples.samples));
    }
    if (near_new_.count) {
      result.findings.push_back(std::to_string(near_new_.count) +
                                " new near-duplicate vector pair" +
                                (near_new_.count == 1 ? "" : "s") + examples(near_new_.samples));
    }
    add_samples(result, duplicate_ids.samples);
    add_samples(result, doc_samples.samples);
    add_samples(result, near_ids_);
    result.figures = {{"duplicate_ids_across_collections", duplicate_ids.count},
                      {"new_duplicate_documents", new_copies},
                      {"duplicate_document_groups_expected", groups_before},
                      {"new_near_duplicate_pairs", near_new_.count},
                      {"near_duplicate_pairs_not_new", near_before_},
                      {"vectors_checked", vectors_},
                      {"suspect_vectors", suspects_},
                      {"near_duplicate_pairs", near_new_.samples}};
    result.thresholds = {{"near_duplicate_similarity", ctx.thresholds.near_duplicate_similarity},
                         {"new_duplicates", "FAILED"}};
    if (duplicate_ids.count || new_copies || near_new_.count) {
      result.status = CheckStatus::kFailed;
    } else {
      result.findings.push_back(
          "no duplicate ids, documents or vectors beyond those in the expected data");
    }
    return result;
  }

 private:
  // One hash per record with a document, counted once every record was seen (8 bytes a record,
  // where a hash map of counts took about 40).
  using DocumentHashes = std::vector<std::uint64_t>;
  static void count_document(DocumentHashes& hashes, const Record& r) {
    if (r.document && !r.document->empty()) hashes.push_back(xxh3_64(*r.document));
  }
  void remember_document(const Record& r) {
    if (r.document && !r.document->empty() &&
        document_candidates_.size() < kMaxDocumentCandidates) {
      document_candidates_.emplace_back(xxh3_64(*r.document), r.id);
    }
  }

  const ValidationContext* ctx_ = nullptr;
  std::vector<IdHashSet> missing_;
  std::vector<IdCandidate> id_candidates_;
  DocumentHashes expected_docs_, target_docs_;
  std::vector<std::pair<std::uint64_t, std::string>> document_candidates_;
  std::unique_ptr<NearDuplicateIndex> index_;
  std::string space_;
  std::unordered_set<std::string> unexpected_;  // of the current collection
  std::uint64_t vectors_ = 0, suspects_ = 0, near_before_ = 0;
  Tally near_new_;  // samples: "collection: a ~ b"
  std::vector<std::string> near_ids_;
};

}  // namespace

std::unique_ptr<Check> make_duplicate_detection_check() {
  return std::make_unique<DuplicateDetection>();
}

}  // namespace cm::validate
