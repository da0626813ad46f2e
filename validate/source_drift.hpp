// Source drift (chroma-validate --source): what the live source took since the run's snapshot,
// per source collection (ids added, changed, deleted, with samples; common/run/source_diff.hpp).
// Drift is not a fault of the migration: it is reported in its own section with the advice to
// sync, changes neither the eight tests nor the verdict, and never triggers a rollback.
#pragma once

#include <nlohmann/json.hpp>

#include "common/run/run_manifest.hpp"
#include "common/store/vector_store.hpp"

namespace cm::validate {

// {"collections": {name: {"added", "changed", "deleted", "samples"} or {"error"}}, "total",
//  "advice"}. A collection that cannot be compared is reported with its error, never failed.
nlohmann::json measure_source_drift(VectorStore& live, VectorStore& exported,
                                    const RunManifest& manifest, const std::string& work_dir,
                                    std::size_t batch_size);

// The report's Markdown section and the console line; "" when the report has no drift section.
std::string render_drift_markdown(const nlohmann::json& report);
std::string render_drift_console(const nlohmann::json& report);

}  // namespace cm::validate
