#include "validate/validator.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/run/recorded_phase.hpp"
#include "common/run/store_factory.hpp"
#include "validate/expected_index.hpp"
#include "validate/record_pass.hpp"
#include "validate/report.hpp"
#include "validate/semantic/queries_file.hpp"
#include "validate/source_drift.hpp"

namespace cm::validate {
namespace {

using Clock = std::chrono::steady_clock;

struct Inputs {
  RunManifest manifest;
  Thresholds thresholds;
  std::optional<contracts::Contract> contract;
  std::optional<contracts::Mapping> mapping;
};

Result<Inputs> read_inputs(const ValidateRequest& request, const WorkDir& work) {
  Inputs in;
  if (!std::filesystem::exists(work.run_manifest())) {
    return make_error(
        ErrorCode::kNotFound,
        work.root().string() + " is not a chroma-migrate work directory (no run.json)");
  }
  CM_ASSIGN_OR_RETURN(auto store, RunManifestStore::load(work.run_manifest()));
  in.manifest = store->get();
  if (in.manifest.dry_run) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the run's last invocation was a dry run: nothing was imported to validate");
  }
  if (in.manifest.import_snapshot.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the run never reached its transform phase (run.json names no import "
                      "snapshot): nothing to validate");
  }
  if (!request.thresholds_file.empty()) {
    CM_ASSIGN_OR_RETURN(in.thresholds, load_thresholds(request.thresholds_file));
  }
  // A malformed queries file is bad input: refused before anything runs (exit 3, no report),
  // naming the place in the file, rather than judged as part of the migration.
  if (!request.options.queries_file.empty()) {
    auto queries = load_queries(request.options.queries_file);
    if (!queries) return std::unexpected(std::move(queries).error().with_context("--queries"));
  }
  if (std::filesystem::exists(work.contract_copy())) {
    CM_ASSIGN_OR_RETURN(in.contract, contracts::load_contract(work.contract_copy()));
  }
  if (std::filesystem::exists(work.mapping_copy())) {
    CM_ASSIGN_OR_RETURN(in.mapping, contracts::load_mapping(work.mapping_copy()));
  }
  return in;
}

// A result the check did not produce itself: it could not run, or does not apply in this mode.
CheckResult result_without_running(const Check& check, CheckStatus status, std::string finding) {
  CheckResult r;
  r.name = check.name();
  r.title = check.title();
  r.status = status;
  r.findings.push_back(std::move(finding));
  return r;
}

CheckResult error_result(const Check& check, const std::string& message) {
  return result_without_running(check, CheckStatus::kError, "could not run: " + message);
}

// Runs one check (or says why it did not run) and logs its status. `observed_seconds`: the time
// its observer spent in the record pass; `pass_error`: set only for an observing check whose pass
// failed (it then has nothing to judge; a check that does not observe still runs).
CheckResult run_check(Check& check, ValidationContext& ctx, const ValidateRequest& request,
                      double observed_seconds, const std::optional<std::string>& pass_error) {
  if (pass_error) return error_result(check, "reading the target failed: " + *pass_error);
  const auto& not_applicable = request.not_applicable;
  if (std::find(not_applicable.begin(), not_applicable.end(), check.name()) !=
      not_applicable.end()) {
    spdlog::info("{}: NOT_APPLICABLE ({})", check.name(), request.mode);
    return result_without_running(check, CheckStatus::kNotApplicable,
                                  "not applicable: " + request.mode);
  }
  const auto check_start = Clock::now();
  Result<CheckResult> result = make_error(ErrorCode::kInternal, "not run");
  try {
    result = check.run(ctx);
  } catch (const std::exception& e) {  // a bug in one check must not cost the others' verdict
    result = make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  }
  CheckResult r = result ? std::move(*result) : error_result(check, result.error().message);
  if (r.name.empty()) r.name = check.name();
  if (r.title.empty()) r.title = check.title();
  r.seconds = seconds_since(check_start) + observed_seconds;
  spdlog::info("{}: {} ({:.2f} s)", r.name, status_name(r.status), r.seconds);
  return r;
}

}  // namespace

Result<ValidationOutcome> run_validation(const ValidateRequest& request) {
  const auto start = Clock::now();
  const std::string started_at = now_iso8601();
  const WorkDir work(request.work_dir);
  if (!request.report_path.empty() && request.report_path.extension() != ".json") {
    return make_error(ErrorCode::kInvalidArgument,
                      "--report must name a .json file (the .md is written beside it), not " +
                          request.report_path.string());
  }
  CM_ASSIGN_OR_RETURN(Inputs in, read_inputs(request, work));
  CM_RETURN_IF_ERROR(init_logging(
      "chroma-validate",
      {work.log_file("chroma-validate", in.manifest.run_id), request.verbose, request.quiet}));
  const std::string phase = recorded_phase(work);
  if (phase != "complete") {
    spdlog::warn("the migration is not complete (phase {}): validating what is there", phase);
  }

  // Opened directly, not through open_work_snapshot(): validation reads sealed snapshots only
  // through SnapshotStore's own part reads (read_part/read_part_vectors, manifest), which the
  // store decorators do not wrap.
  CM_ASSIGN_OR_RETURN(auto expected, SnapshotStore::open(work.resolve(in.manifest.import_snapshot),
                                                         SnapshotStore::Mode::kRead));
  std::unique_ptr<SnapshotStore> export_store;
  const auto export_dir = work.snapshot(WorkDir::kSourceSnapshot);
  std::error_code ec;
  if (!std::filesystem::equivalent(export_dir, expected->dir(), ec)) {
    CM_ASSIGN_OR_RETURN(export_store, SnapshotStore::open(export_dir, SnapshotStore::Mode::kRead));
  }
  SnapshotStore& exported = export_store ? *export_store : *expected;

  // Validation never writes: the source role wraps the target in the read-only guard.
  StoreOpenOptions open_options;
  open_options.fault_spec = request.fault_spec;
  open_options.scratch_dir = work.scratch_dir();
  // A persist source as the run read it: without the records it lists as unrecoverable there.
  open_options.skip_unrecoverable = !in.manifest.unrecoverable_at_source.empty();
  CM_ASSIGN_OR_RETURN(auto uri,
                      recorded_store_uri(request.target_uri, in.manifest.target, "--target"));
  std::optional<StoreUri> source_uri;
  if (!request.source_uri.empty()) {
    auto parsed = parse_store_uri(request.source_uri);
    if (!parsed) return std::unexpected(std::move(parsed).error().with_context("--source"));
    source_uri = *parsed;
  }
  // The migration's target gets CHROMA_TARGET_TOKEN, --source CHROMA_SOURCE_TOKEN (CHROMA_TOKEN
  // only where it is not sent to two servers), decided before anything is contacted.
  CM_ASSIGN_OR_RETURN(
      const StoreTokens tokens,
      resolve_store_tokens(request.tokens, source_uri ? &*source_uri : nullptr, &uri));
  open_options.token = tokens.target;
  CM_ASSIGN_OR_RETURN(auto target, open_store(uri, StoreRole::kSource, open_options));
  if (auto probe = target->list_collections(); !probe) {
    return std::unexpected(
        std::move(probe).error().with_context("target " + uri.redacted() + " is unreachable"));
  }
  std::unique_ptr<VectorStore> live_source;
  if (source_uri) {
    open_options.token = tokens.source;
    CM_ASSIGN_OR_RETURN(live_source, open_store(*source_uri, StoreRole::kSource, open_options));
  }

  spdlog::info("validating run {} on {} against {}", in.manifest.run_id, target->describe(),
               expected->dir().string());
  const auto index_start = Clock::now();
  CM_ASSIGN_OR_RETURN(auto index, ExpectedIndex::build(*expected, exported, in.manifest,
                                                       in.mapping ? &*in.mapping : nullptr));
  const double index_seconds = seconds_since(index_start);
  ValidationContext ctx{work,
                        in.manifest,
                        *expected,
                        exported,
                        *target,
                        live_source.get(),
                        in.contract ? &*in.contract : nullptr,
                        in.mapping ? &*in.mapping : nullptr,
                        in.thresholds,
                        request.options,
                        &index};
  ctx.metadata_float_rounding_ulps = uri.kind == StoreUri::Kind::kHttp ? 1 : 0;

  auto checks = all_checks();
  std::vector<RecordObserver*> observers;
  std::vector<std::size_t> observer_of(checks.size(), SIZE_MAX);
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (auto* o = checks[i]->observer()) {
      observer_of[i] = observers.size();
      observers.push_back(o);
    }
  }
  // Against a server, a check that does not observe the record pass (the semantic-search test:
  // it reads the snapshots and queries the target) runs beside it: the pass spends most of its
  // time waiting for the server's answers, and this uses the CPU it leaves (4.07 -> 3.77 s at
  // 50,000 records). Every VectorStore method is thread-safe, and no check writes to ctx. A
  // snapshot target keeps the pass busy on the CPU: there it would only add the check's memory to
  // the pass's (190 -> 237 MB at 1,000,000 x 384) and gain nothing, so it runs after.
  const bool pass_waits_on_server = uri.kind == StoreUri::Kind::kHttp;
  std::vector<std::future<CheckResult>> beside(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!pass_waits_on_server || observer_of[i] != SIZE_MAX) continue;
    beside[i] = std::async(std::launch::async, [&, i] {
      return run_check(*checks[i], ctx, request, 0.0, std::nullopt);
    });
  }
  std::vector<double> observer_seconds(observers.size(), 0.0);
  auto pass = run_record_pass(ctx, observers, observer_seconds);
  if (!pass) spdlog::error("record pass failed: {}", pass.error().message);

  std::vector<CheckResult> results;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (beside[i].valid()) {
      results.push_back(beside[i].get());
      continue;
    }
    const bool observes = observer_of[i] != SIZE_MAX;
    std::optional<std::string> pass_error;  // only an observing check depends on the pass
    if (observes && !pass) pass_error = pass.error().message;
    const double observed = observes ? observer_seconds[observer_of[i]] : 0.0;
    results.push_back(run_check(*checks[i], ctx, request, observed, pass_error));
  }

  Verdict verdict = compute_verdict(results, in.thresholds);
  ReportHeader header{
      in.manifest.run_id, in.manifest.source,     target->describe(),   work.root().string(),
      started_at,         CHROMA_MIGRATE_VERSION, seconds_since(start), nlohmann::json::object()};
  header.extra["thresholds"] = thresholds_to_json(in.thresholds);
  header.extra["migration_phase"] = phase;
  header.extra["contract_version"] = in.contract ? in.contract->version : "";
  header.extra["mapping_hash"] = in.manifest.mapping_hash;
  // Records of a persist source whose vector was lost before the run: never in the export, so no
  // check counts them; reported apart from what the migration lost.
  if (!in.manifest.unrecoverable_at_source.empty()) {
    header.extra["unrecoverable_at_source"] = in.manifest.unrecoverable_at_source;
  }
  header.extra["metadata_float_rounding_ulps"] = ctx.metadata_float_rounding_ulps;
  header.extra["expected_index"] = {{"seconds", index_seconds}, {"records", index.size()}};
  if (pass) {
    header.extra["record_pass"] = {
        {"seconds", pass->seconds},
        {"expected_records", pass->expected_records},
        {"fetched_records", pass->fetched_records},
        {"target_ids", pass->target_ids},
        {"collections_proven_by_count", pass->collections_proven_by_count}};
  }
  ValidationOutcome out;
  out.report = report_to_json(header, verdict, results);
  if (!request.mode.empty()) out.report["mode"] = request.mode;
  if (live_source) {
    out.report["source_drift"] =
        measure_source_drift(*live_source, exported, in.manifest, work.root().string(), 1000);
  }
  out.overall = verdict.overall;
  out.json_path = request.report_path.empty() ? work.validation_report() : request.report_path;
  out.markdown_path = markdown_path_for(out.json_path);
  if (out.json_path.has_parent_path())
    CM_RETURN_IF_ERROR(ensure_directory(out.json_path.parent_path()));
  CM_RETURN_IF_ERROR(write_reports(out.report, out.json_path));
  out.summary = render_console_summary(out.report, out.json_path);
  return out;
}

}  // namespace cm::validate
