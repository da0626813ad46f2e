// rollback_report.json / rollback_report.md / rollback_report.html (rollback/html_page.hpp; all
// written atomically) and the console summary. Every
// figure comes from rollback.json (so a rollback finished by a re-run after a crash reports the
// whole rollback, not only its last invocation) and from the final verification.
//
// Downtime of a live name: from when the run changed what it serves (the ledger's disrupted_at, or
// the cutover step's done_at) to when it served its pre-run state again (the rename back, the end
// of its restore, or the drop of a collection the run created); 0 when it was never disrupted.
// live_restored_seconds: from the rollback's start to the last live name restored; its parts are
// backup_verify_seconds (always before any change) and first_change_to_live_restored_seconds
// (from the first rename/drop/create sent to the last live name restored: the swap, on path A).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"
#include "rollback/journal.hpp"
#include "rollback/verify.hpp"

namespace cm::rollback {

// `target`: the target as described for people (redacted). A backup restore's journal carries the
// backup in its trigger ({"backup": {kind, path, ...}}), which the texts name instead of a
// validation verdict.
nlohmann::json build_report(const Journal& journal, const Verification& verification,
                            const std::string& target, const WorkDir& work);
Status write_report(const WorkDir& work, const nlohmann::json& report);
std::string report_markdown(const nlohmann::json& report);
std::string console_summary(const nlohmann::json& report, const WorkDir& work);
// The report's trigger for people: a validation verdict and its reasons, a forced reason, or the
// backup a --backup-path restore read.
std::string trigger_text(const nlohmann::json& trigger);

}  // namespace cm::rollback
