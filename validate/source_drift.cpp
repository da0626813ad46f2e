#include "validate/source_drift.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/run/source_diff.hpp"

namespace cm::validate {
namespace {

Result<SourceDiffCounts> drift_of(VectorStore& live, VectorStore& exported, const std::string& name,
                                  std::size_t batch_size) {
  CM_ASSIGN_OR_RETURN(auto at_source, live.find_collection(name));
  if (!at_source) return make_error(ErrorCode::kNotFound, "the source no longer has it");
  CM_ASSIGN_OR_RETURN(auto in_snapshot, exported.find_collection(name));
  if (!in_snapshot) return make_error(ErrorCode::kCorruption, "the run's snapshot lacks it");
  return diff_source(live, *at_source, exported, *in_snapshot, batch_size,
                     [](std::vector<Record>&, const std::vector<const Record*>&,
                        const std::vector<const Record*>&) { return ok_status(); });
}

}  // namespace

nlohmann::json measure_source_drift(VectorStore& live, VectorStore& exported,
                                    const RunManifest& manifest, const std::string& work_dir,
                                    std::size_t batch_size) {
  nlohmann::json collections = nlohmann::json::object();
  std::uint64_t total = 0;
  for (const auto& name : manifest.source_collections) {
    auto counts = drift_of(live, exported, name, batch_size);
    if (!counts) {
      collections[name] = {{"error", counts.error().message}};
      continue;
    }
    total += counts->total();
    collections[name] = {{"added", counts->added},
                         {"changed", counts->changed},
                         {"deleted", counts->deleted},
                         {"samples", counts->samples}};
  }
  if (total) {
    spdlog::warn("source drift: the source took {} change(s) since the run's snapshot", total);
  }
  return {{"collections", collections},
          {"total", total},
          {"advice", total ? "the source changed since the migration read it (not a migration "
                             "fault; the verdict does not count it): run chroma-migrate --sync "
                             "--work-dir " +
                                 work_dir +
                                 " to carry the changes over, and take the final sync during a "
                                 "write freeze before the cutover"
                           : "none: the source holds what the migration read"}};
}

std::string render_drift_markdown(const nlohmann::json& report) {
  if (!report.contains("source_drift")) return "";
  const auto& d = report["source_drift"];
  std::string md = "\n## Source drift (not part of the verdict)\n\n";
  md += d.value("advice", "") +
        "\n\n| source collection | added | changed | deleted | samples |\n"
        "| --- | ---: | ---: | ---: | --- |\n";
  const nlohmann::json collections = d.value("collections", nlohmann::json::object());
  for (const auto& [name, c] : collections.items()) {
    if (c.contains("error")) {
      md += fmt::format("| {} | | | | not compared: {} |\n", name, c.value("error", ""));
      continue;
    }
    std::string samples;
    const nlohmann::json listed = c.value("samples", nlohmann::json::array());
    for (const auto& s : listed)
      samples += (samples.empty() ? "`" : ", `") + s.get<std::string>() + "`";
    md += fmt::format("| {} | {} | {} | {} | {} |\n", name, c.value("added", 0),
                      c.value("changed", 0), c.value("deleted", 0), samples);
  }
  return md;
}

std::string render_drift_console(const nlohmann::json& report) {
  if (!report.contains("source_drift")) return "";
  const auto total = report["source_drift"].value("total", std::uint64_t{0});
  return fmt::format("  source drift:       {}\n",
                     total ? fmt::format("{} change(s) since the snapshot (not a migration fault): "
                                         "run chroma-migrate --sync",
                                         total)
                           : std::string("none"));
}

}  // namespace cm::validate
