// What chroma-migrate prints at the end of its modes other than a migration (--cutover,
// --finalize, --sync, --inspect, --prepare), and the exit code each result gives: part of the
// command-line edge (main.cpp), the only place an error becomes an exit code.
#pragma once

#include <string>

#include "common/base/error.hpp"
#include "migrate/cutover.hpp"
#include "migrate/prepare.hpp"
#include "migrate/sync.hpp"

namespace cm::migrate {

int report_cutover(const Result<CutoverSummary>& result, const std::string& work_dir);
int report_finalize(const Result<CutoverSummary>& result, const std::string& work_dir);
int report_sync(const Result<SyncSummary>& result);
// --prepare: what was backed up (and dropped) and the shards' next command.
int report_prepare(const Result<PrepareSummary>& result);
// Runs --inspect on `source` (a persist: URI), writes its JSON (and page) to `report`.
int report_inspect(const std::string& source, const std::string& report);

}  // namespace cm::migrate
