// The contract between chroma-validate's driver and its eight tests. One file per test under
// validate/checks/, each registered in validate/registry.cpp. A check reports ALL its findings
// (with up to kMaxSamples sample ids), never stops at the first.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/vector_store.hpp"
#include "contracts/contract.hpp"
#include "contracts/mapping.hpp"
#include "validate/thresholds.hpp"

namespace cm::validate {

class RecordObserver;  // validate/record_pass.hpp
class ExpectedIndex;   // validate/expected_index.hpp

inline constexpr std::size_t kMaxSamples = 20;

// Ordered: worst is greatest. kNotApplicable: the test could not judge anything in this mode (a
// contract-only validation has no source to count against); it never makes a verdict worse.
enum class CheckStatus { kNotApplicable, kPassed, kWarning, kFailed, kError };
// NOT_APPLICABLE | PASSED | WARNING | FAILED | ERROR
const char* status_name(CheckStatus status);

struct CheckResult {
  std::string name;   // snake_case id, e.g. "count_verification"
  std::string title;  // e.g. "Count verification"
  CheckStatus status = CheckStatus::kPassed;
  nlohmann::json figures = nlohmann::json::object();     // what was observed
  nlohmann::json thresholds = nlohmann::json::object();  // what it was judged against
  std::vector<std::string> findings;                     // one human-readable line each
  std::vector<std::string> samples;                      // up to kMaxSamples ids
  std::string rollback_reason;                           // set when the status is FAILED/ERROR
  double seconds = 0;
};

struct ValidateOptions {
  std::size_t top_k = 10;
  std::size_t sample = 100;  // records whose own embeddings are used as extra queries
  std::uint64_t seed = 42;
  std::filesystem::path queries_file;  // empty: queries/ default not used, only sampled records
};

// Everything a check may read. Nothing here is written by a check.
struct ValidationContext {
  WorkDir work;
  RunManifest manifest;
  SnapshotStore&
      expected;  // the import snapshot: exactly what should have landed per target collection
  SnapshotStore& exported;  // the export snapshot: the source as it was (semantic-search reference)
  VectorStore& target;      // the migrated store, read only
  VectorStore* live_source = nullptr;             // --source, optional: server-to-server comparison
  const contracts::Contract* contract = nullptr;  // inputs/contract.json when the run had one
  const contracts::Mapping* mapping = nullptr;    // inputs/mapping.json when the run had one
  const Thresholds& thresholds;
  const ValidateOptions& options;
  // Where every expected record belongs (collection, source route); set by the driver before any
  // check runs.
  const ExpectedIndex* index = nullptr;
  // Test 3: how many ulps a metadata float may differ by and still count as the target's own
  // rounding (validate/checks/metadata_values.hpp). 1 on a Chroma HTTP target (its 1.0.x parser
  // is not correctly rounded: never more than 1 ulp), 0 on a snapshot directory.
  std::uint64_t metadata_float_rounding_ulps = 0;
};

class Check {
 public:
  virtual ~Check() = default;
  virtual std::string name() const = 0;
  virtual std::string title() const = 0;
  // Returns the result; an Error means the check could not run (the driver reports ERROR).
  virtual Result<CheckResult> run(ValidationContext& ctx) = 0;
  // Checks that judge records one by one return an observer: the driver streams every target
  // collection ONCE (validate/record_pass.hpp) and shows each batch to every observer before it
  // calls run(), which then only judges what the observer gathered. So the target is read once,
  // not once per check. nullptr (the default): run() does all the work itself.
  virtual RecordObserver* observer() { return nullptr; }
};

// The eight checks, in report order.
std::vector<std::unique_ptr<Check>> all_checks();

}  // namespace cm::validate
