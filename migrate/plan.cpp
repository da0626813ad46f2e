// The dry-run plan: what a real run would do, computed from the sealed import snapshot, written as
// plan.json, plan.md and plan.html in the work dir and summarised on the console. Nothing touches
// the target.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/report/html_page.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/inspect.hpp"
#include "migrate/phase_context.hpp"
#include "migrate/summary_page.hpp"

namespace cm::migrate {
namespace {

nlohmann::json sample_json(const std::string& collection, const Record& r) {
  std::string doc = r.document ? r.document->substr(0, 120) : "";
  return {{"collection", collection},
          {"id", r.id},
          {"document", r.document ? nlohmann::json(doc) : nlohmann::json()},
          {"metadata", metadata_to_json(r.metadata)},
          {"dimension", r.embedding.size()}};
}

std::string render_markdown(const nlohmann::json& plan) {
  std::string md =
      fmt::format("# Migration plan (dry run) — run {}\n\n", plan["run_id"].get<std::string>());
  md += fmt::format("- source: {}\n- target: {} ({})\n- batch size {}, {} worker(s)\n",
                    plan["source"].get<std::string>(), plan["target"].get<std::string>(),
                    plan["target_kind"].get<std::string>(), plan["batch_size"].get<std::size_t>(),
                    plan["workers"].get<std::size_t>());
  md += fmt::format(
      "- export measured at {:.0f} records/s; estimated import time at that rate: {:.1f}s (a lower "
      "bound: "
      "the target's ingest is usually slower than its reads)\n\n",
      plan["export"]["records_per_second"].get<double>(),
      plan["estimated_import_seconds"].get<double>());
  md +=
      "| target collection | action | exists now | records | from (source: route = records) |\n| "
      "--- | --- | --- | ---: | --- |\n";
  for (const auto& t : plan["targets"]) {
    std::string from;
    for (const auto& [route, n] : t["from"].items())
      from += (from.empty() ? "" : "<br>") + route + " = " + n.dump();
    md += fmt::format("| {} | {} | {} | {} | {} |\n", t["name"].get<std::string>(),
                      t["action"].get<std::string>(), t["exists_now"].get<bool>() ? "yes" : "no",
                      t["records"].get<std::uint64_t>(), from);
  }
  md += "\n## Schema change\n\n```json\n" + plan["schema_change"].dump(2) +
        "\n```\n\n## Sample transformed records\n\n```json\n" + plan["samples"].dump(2) +
        "\n```\n\n## Contract preflight\n\n" + plan["preflight"].get<std::string>() + "\n";
  if (plan.contains("source_health")) {
    md += "\n## Source persist directory health\n\n```\n" +
          plan["source_health_table"].get<std::string>() + "```\n";
    if (const auto lost = plan["unrecoverable_at_source"].value("total", 0); lost > 0) {
      md += fmt::format(
          "\n**{} record(s) have no vector left anywhere**: a real run refuses them (exit 7) "
          "unless given --allow-missing-vectors, which migrates the others and lists these as "
          "unrecoverable at the source (every id: unrecoverable_at_source.json).\n",
          lost);
    }
  }
  return md;
}

}  // namespace

Status write_plan(PhaseContext& ctx, double export_seconds) {
  const auto manifest = ctx.manifest.get();
  CM_ASSIGN_OR_RETURN(auto work, open_work_snapshot(ctx, ctx.work.resolve(manifest.import_snapshot),
                                                    SnapshotStore::Mode::kRead));
  SnapshotStore* snapshot = work.snapshot;  // part reads
  const auto state = ctx.checkpoint.snapshot();
  std::uint64_t exported = 0, total = 0;
  if (auto it = state.stages.find(kStageScan); it != state.stages.end()) {
    for (const auto& [name, p] : it->second)
      exported += p.details.value("id_count", std::uint64_t{0});
  }
  nlohmann::json targets = nlohmann::json::array(), samples = nlohmann::json::array();
  for (const auto& entry : manifest.target_collections) {
    CM_ASSIGN_OR_RETURN(auto live, ctx.target.find_collection(entry.name));
    nlohmann::json from = nlohmann::json::object();
    if (auto it = state.stages.find(kStageTransform); it != state.stages.end()) {
      for (const auto& [source, p] : it->second) {
        const auto routes = p.details.value("routes", nlohmann::json::object());
        if (!routes.contains(entry.name)) continue;
        for (const auto& [route, n] : routes[entry.name].items()) from[source + ": " + route] = n;
      }
    } else {
      from[entry.name] = entry.expected_records;
    }
    targets.push_back({{"name", entry.name},
                       {"action", enum_name(entry.action)},
                       {"exists_now", live.has_value()},
                       {"records", entry.expected_records},
                       {"from", from}});
    total += entry.expected_records;
    CM_ASSIGN_OR_RETURN(std::size_t parts, snapshot->part_count(entry.name));
    for (std::size_t i = 0; i < parts && samples.size() < 3; ++i) {
      CM_ASSIGN_OR_RETURN(auto records, snapshot->read_part(entry.name, i));
      for (std::size_t k = 0; k < records.size() && samples.size() < 3; ++k)
        samples.push_back(sample_json(entry.name, records[k]));
    }
  }
  const double rate = export_seconds > 0 ? static_cast<double>(exported) / export_seconds : 0;
  nlohmann::json plan = {
      {"run_id", manifest.run_id},
      {"source", manifest.source},
      {"target", manifest.target},
      {"target_kind", enum_name(manifest.target_kind)},
      {"batch_size", ctx.batch_size},
      {"target_max_batch", ctx.target_max_batch},
      {"workers", ctx.options.workers},
      {"mapping_hash", manifest.mapping_hash},
      {"contract_version", manifest.contract_version},
      {"export",
       {{"records", exported}, {"seconds", export_seconds}, {"records_per_second", rate}}},
      {"estimated_import_seconds", rate > 0 ? static_cast<double>(total) / rate : 0.0},
      {"targets", targets},
      {"samples", samples},
      {"schema_change", ctx.mapping ? contracts::describe_schema_change(*ctx.mapping)
                                    : nlohmann::json("identity: unchanged")},
      {"preflight", ctx.contract ? (manifest.contract_overrides.empty()
                                        ? "contract " + ctx.contract->version + " holds"
                                        : "contract drift allowed, see run.json")
                                 : std::string("no contract given")}};
  if (ctx.persist) {
    // The same figures as chroma-migrate --inspect, for the collections this run reads.
    CM_ASSIGN_OR_RETURN(auto health, collections_health(*ctx.persist, manifest.source_collections));
    plan["source_health"] = nlohmann::json::array();
    for (const auto& h : health) plan["source_health"].push_back(health_to_json(h));
    plan["source_health_table"] = render_health_table(health);
    plan["unrecoverable_at_source"] = manifest.unrecoverable_at_source;
  }
  // The page before the JSON (the record); a page that fails is only a warning naming it.
  report::write_page_beside(ctx.work.plan_json(), render_plan_page(plan));
  CM_RETURN_IF_ERROR(write_file_atomic(ctx.work.plan_json(), plan.dump(2) + "\n"));
  CM_RETURN_IF_ERROR(write_file_atomic(ctx.work.plan_md(), render_markdown(plan)));
  for (const auto& t : targets) {
    spdlog::info("plan: {} {} ({} records){}", t["action"].get<std::string>(),
                 t["name"].get<std::string>(), t["records"].get<std::uint64_t>(),
                 t["exists_now"].get<bool>() ? ", exists now" : "");
  }
  spdlog::info(
      "dry run: nothing was written to the target; plan in {} and plan.md (html page: "
      "plan.html)",
      (ctx.work.plan_json()).string());
  return ok_status();
}

}  // namespace cm::migrate
