// Staged runs (--stage) import into "<live>.staged-<run id>" collections while the live names keep
// serving. Two later invocations finish them:
//
//   chroma-migrate --cutover  --work-dir DIR   after a PASSED (or, with --accept-warning, WARNING)
//       validation report of this run: for each target collection, the live collection (if any) is
//       renamed to "<live>.retained-<run id>" and the staged one to the live name. Every rename is
//       journalled in run.json (collection id, from, to) before it is sent and audited when it is,
//       so a crash mid-swap is completed by running --cutover again (or undone by chroma-rollback).
//   chroma-migrate --finalize --work-dir DIR   drops the retained collections once the operator is
//       satisfied; the verified backup in snapshots/backup stays the way back.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/store_factory.hpp"
#include "common/store/store_decorators.hpp"

namespace cm::migrate {

struct CutoverOptions {
  std::filesystem::path work_dir;
  std::string target_uri;        // --target; default: run.json's (unless redacted)
  std::filesystem::path report;  // --report; default: <work dir>/validation_report.json
  bool accept_warning = false;   // --accept-warning: a WARNING verdict may cut over too
  StoreTokens tokens;  // as read from the environment; the target gets its own or the shared one
  RetryPolicy retry;
  std::string fault_spec;
  // Interlocks, as for the migration itself.
  std::optional<TargetKind> target_env;  // nullopt: run.json's target_kind
  std::optional<std::string> confirmation;
  std::filesystem::path targets_file;
  bool verbose = false, quiet = false;
};

struct CutoverSummary {
  std::string run_id;
  bool already_done = false;
  std::size_t renames = 0;  // renames (cutover) or drops (finalize) sent by this invocation
  std::vector<std::string> live, retained;  // names swapped in / kept aside (or dropped)
  double seconds = 0;
  double longest_gap_seconds = 0;  // longest time a live name was missing during the swap
};

Result<CutoverSummary> run_cutover(const CutoverOptions& options);
Result<CutoverSummary> run_finalize(const CutoverOptions& options);

}  // namespace cm::migrate
