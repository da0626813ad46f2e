#include "migrate/cli_reports.hpp"

#include <iostream>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/cli/cli_edge.hpp"
#include "common/report/html_page.hpp"
#include "migrate/inspect.hpp"

namespace cm::migrate {

int report_cutover(const cm::Result<CutoverSummary>& result, const std::string& work_dir) {
  if (!result) return fail(result.error());
  const auto& s = *result;
  if (s.already_done) {
    spdlog::info("run {} was already cut over; nothing to do", s.run_id);
    return cm::kExitOk;
  }
  std::string live;
  for (const auto& name : s.live) live += (live.empty() ? "" : ", ") + name;
  spdlog::info(
      "cutover of run {} done: {} rename(s) in {:.3f}s (longest time a live name was missing: "
      "{:.3f}s); live now: {}",
      s.run_id, s.renames, s.seconds, s.longest_gap_seconds, live);
  if (!s.retained.empty()) {
    spdlog::info(
        "the previous collections are kept as {}; when satisfied: chroma-migrate --finalize "
        "--work-dir {} (chroma-rollback --work-dir {} swaps back)",
        fmt::join(s.retained, ", "), work_dir, work_dir);
  }
  return cm::kExitOk;
}

int report_finalize(const cm::Result<CutoverSummary>& result, const std::string& work_dir) {
  if (!result) return fail(result.error());
  const auto& s = *result;
  if (s.already_done) {
    spdlog::info("run {} was already finalized; nothing to do", s.run_id);
  } else {
    spdlog::info(
        "run {} finalized: dropped {} retained collection(s) in {:.3f}s; the verified backup "
        "stays in {}/snapshots/backup",
        s.run_id, s.renames, s.seconds, work_dir);
  }
  return cm::kExitOk;
}

int report_prepare(const cm::Result<PrepareSummary>& result) {
  if (!result) return fail(result.error());
  const auto& s = *result;
  spdlog::info(
      "run {} {}: {} target collection(s) backed up ({} records){}; record and backup in {}",
      s.run_id, s.already_ready ? "was already prepared" : "prepared", s.backed_up, s.records,
      s.dropped ? fmt::format(", {} of them dropped for replace", s.dropped) : "", s.dir.string());
  if (s.staged) {
    spdlog::info(
        "staged: nothing was dropped; the live collections keep serving until chroma-migrate "
        "--cutover --no-final-sync with every shard's --work-dir retains them");
  }
  spdlog::info(
      "next: start every shard with the same flags, --shard I/N (or --shards N) instead "
      "of --prepare --shards N, its own --work-dir and --prepared {}",
      s.dir.string());
  return cm::kExitOk;
}

int report_sync(const cm::Result<SyncSummary>& result) {
  if (!result) return fail(result.error());
  const auto& s = *result;
  for (const auto& c : s.collections) {
    spdlog::info("  {}: {} added, {} changed, {} deleted{}{}", c.source_collection, c.added,
                 c.changed, c.deleted, c.samples.empty() ? "" : " (e.g. ",
                 c.samples.empty() ? "" : fmt::format("{})", fmt::join(c.samples, ", ")));
    if (c.conflicts) {
      spdlog::warn(
          "  {}: {} change(s) not applied: the target record was changed by someone "
          "else since the run wrote it (e.g. {})",
          c.source_collection, c.conflicts, fmt::join(c.conflict_samples, ", "));
    }
  }
  if (s.dry_run) {
    spdlog::info("dry-run sync of run {}: {} change(s) found in {:.3f}s; nothing was written",
                 s.run_id, s.total(), s.seconds);
    return cm::kExitOk;
  }
  spdlog::info("sync {} of run {}: {} change(s) applied in {:.3f}s; {}", s.generation, s.run_id,
               s.total() - s.conflicts(), s.seconds,
               s.converged ? "converged (a second id scan of the source agrees with the snapshot)"
               : s.conflicts()
                   ? "not converged: conflicts remain"
                   : "not converged: the source kept changing during the sync; sync again");
  if (s.html_page) spdlog::info("html page (every sync of the run): {}", s.html_page->string());
  if (s.conflicts()) {
    return fail(cm::Error{
        cm::ErrorCode::kAlreadyExists,
        fmt::format("{} source change(s) were not applied because someone else changed the "
                    "target records since the run wrote them (listed above and in run.json's "
                    "syncs); nothing of theirs was replaced or deleted. Decide which version "
                    "wins: stop that writer, or restore the run's version, then sync again",
                    s.conflicts())});
  }
  return cm::kExitOk;
}

int report_inspect(const std::string& source, const std::string& report) {
  if (source.empty()) {
    return fail(cm::Error{cm::ErrorCode::kInvalidArgument, "--inspect needs --source persist:DIR"});
  }
  auto uri = cm::parse_store_uri(source);
  if (!uri) return fail(std::move(uri).error().with_context("--source"));
  auto inspection = run_inspect(*uri, report);
  if (!inspection) return fail(inspection.error());
  std::cout << render_health_table(inspection->collections);
  for (const auto& folder : inspection->orphan_segment_folders) {
    std::cout << "  orphan folder (no segment names it): " << folder << "\n";
  }
  std::cout << std::flush;
  const auto written = std::filesystem::absolute(report.empty() ? kDefaultInspectReport : report);
  spdlog::info("{}: {} collection(s); report written to {} (html page: {})", inspection->source,
               inspection->collections.size(), written.string(),
               std::filesystem::exists(cm::report::html_path_for(written))
                   ? cm::report::html_path_for(written).string()
                   : "not written, see the warning above");
  if (const auto lost = inspection->unrecoverable()) {
    return fail(cm::Error{
        cm::ErrorCode::kCorruption,
        fmt::format("{} record(s) have no vector left anywhere (listed above and in {}); "
                    "chroma-migrate --allow-missing-vectors migrates the others and lists these",
                    lost, written.string())});
  }
  spdlog::info("every record's vector is recoverable");
  return cm::kExitOk;
}

}  // namespace cm::migrate
