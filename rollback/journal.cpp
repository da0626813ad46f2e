#include "rollback/journal.hpp"

#include "common/base/atomic_file.hpp"

namespace cm::rollback {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UndoRename, collection_id, from, to, live_name,
                                                restores_live, journalled_done, state, done_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IdList, count, ids)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ArchiveItem, name, collection_id, live_name,
                                                restores_live, state, records, archived_at,
                                                dropped_at, others_checked, others_note,
                                                others_wrote, pre_existing)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LiveName, name, action, path, note, disrupted_at,
                                                restored_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Action, action, collection, detail, at, seconds)

namespace {

nlohmann::json restore_to_json(const RestoreItem& r) {
  return {{"name", r.name},
          {"state", r.state},
          {"collection_id", r.collection_id},
          {"parts", r.parts},
          {"parts_done", r.parts_done.to_json()},
          {"records", r.records},
          {"records_sent", r.records_sent},
          {"timed_records", r.timed_records},
          {"upsert_seconds", r.upsert_seconds},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at}};
}

RestoreItem restore_from_json(const nlohmann::json& j) {
  RestoreItem r;
  r.name = j.at("name").get<std::string>();
  r.state = j.at("state").get<RestoreState>();
  r.collection_id = j.value("collection_id", "");
  r.parts = j.value("parts", std::size_t{0});
  std::string why;
  auto done = ckpt::BatchSet::from_json(j.value("parts_done", nlohmann::json::array()), &why);
  if (!done) throw nlohmann::json::other_error::create(501, "parts_done: " + why, &j);
  r.parts_done = *done;
  r.records = j.value("records", std::uint64_t{0});
  r.records_sent = j.value("records_sent", std::uint64_t{0});
  r.timed_records = j.value("timed_records", std::uint64_t{0});
  r.upsert_seconds = j.value("upsert_seconds", 0.0);
  r.started_at = j.value("started_at", "");
  r.finished_at = j.value("finished_at", "");
  return r;
}

nlohmann::json merge_to_json(const MergeItem& m) {
  return {{"name", m.name},
          {"collection_id", m.collection_id},
          {"state", m.state},
          {"parts", m.parts},
          {"parts_done", m.parts_done.to_json()},
          {"restoring", m.restoring},
          {"backup_records", m.backup_records},
          {"deleted_added", m.deleted_added},
          {"restored", m.restored},
          {"rewritten", m.rewritten},
          {"kept_changed", m.kept_changed},
          {"others_changed", m.others_changed},
          {"foreign", m.foreign},
          {"started_at", m.started_at},
          {"finished_at", m.finished_at}};
}

MergeItem merge_from_json(const nlohmann::json& j) {
  MergeItem m;
  m.name = j.at("name").get<std::string>();
  m.collection_id = j.value("collection_id", "");
  m.state = j.at("state").get<MergeRestoreState>();
  m.parts = j.value("parts", std::size_t{0});
  std::string why;
  auto done = ckpt::BatchSet::from_json(j.value("parts_done", nlohmann::json::array()), &why);
  if (!done) throw nlohmann::json::other_error::create(501, "parts_done: " + why, &j);
  m.parts_done = *done;
  m.restoring = j.value("restoring", std::vector<std::string>{});
  m.backup_records = j.value("backup_records", std::uint64_t{0});
  m.deleted_added = j.value("deleted_added", std::uint64_t{0});
  m.restored = j.value("restored", std::uint64_t{0});
  m.rewritten = j.value("rewritten", std::uint64_t{0});
  m.kept_changed = j.value("kept_changed", IdList{});
  m.others_changed = j.value("others_changed", IdList{});
  m.foreign = j.value("foreign", IdList{});
  m.started_at = j.value("started_at", "");
  m.finished_at = j.value("finished_at", "");
  return m;
}

}  // namespace

LiveName* Journal::find_live(const std::string& name) {
  for (auto& l : live) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

nlohmann::json journal_to_json(const Journal& j) {
  auto restores = nlohmann::json::array();
  for (const auto& r : j.restores) restores.push_back(restore_to_json(r));
  auto merges = nlohmann::json::array();
  for (const auto& m : j.merges) merges.push_back(merge_to_json(m));
  return {{"format_version", Journal::kFormatVersion},
          {"run_id", j.run_id},
          {"state", j.state},
          {"started_at", j.started_at},
          {"finished_at", j.finished_at},
          {"trigger", j.trigger},
          {"paths", j.paths},
          {"backup_path", j.backup_path},
          {"backup_source", j.backup_source},
          {"renames", j.renames},
          {"archive_state", j.archive_state},
          {"archive_verified_at", j.archive_verified_at},
          {"archive", j.archive},
          {"restores", restores},
          {"merges", merges},
          {"live", j.live},
          {"equal_to_backup", j.equal_to_backup},
          {"untouched", j.untouched},
          {"must_be_gone", j.must_be_gone},
          {"actions", j.actions},
          {"invocations", j.invocations}};
}

Result<Journal> journal_from_json(const nlohmann::json& json) {
  try {
    if (json.at("format_version").get<int>() != Journal::kFormatVersion) {
      return make_error(
          ErrorCode::kCorruption,
          "rollback.json format_version " + json.at("format_version").dump() + " is not supported");
    }
    Journal j;
    j.run_id = json.at("run_id").get<std::string>();
    j.state = json.at("state").get<JournalState>();
    j.started_at = json.value("started_at", "");
    j.finished_at = json.value("finished_at", "");
    j.trigger = json.value("trigger", nlohmann::json::object());
    j.paths = json.value("paths", std::vector<RollbackPath>{});
    j.backup_path = json.value("backup_path", "");
    j.backup_source = json.value("backup_source", "");
    j.renames = json.at("renames").get<std::vector<UndoRename>>();
    j.archive_state = json.value("archive_state", ArchiveSealState::kNone);
    j.archive_verified_at = json.value("archive_verified_at", "");
    j.archive = json.at("archive").get<std::vector<ArchiveItem>>();
    for (const auto& r : json.at("restores")) j.restores.push_back(restore_from_json(r));
    for (const auto& m : json.value("merges", nlohmann::json::array()))
      j.merges.push_back(merge_from_json(m));
    j.live = json.at("live").get<std::vector<LiveName>>();
    j.equal_to_backup = json.value("equal_to_backup", std::vector<std::string>{});
    j.untouched = json.value("untouched", std::vector<std::string>{});
    j.must_be_gone = json.value("must_be_gone", std::vector<std::string>{});
    j.actions = json.value("actions", std::vector<Action>{});
    j.invocations = json.value("invocations", std::uint32_t{0});
    return j;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kCorruption,
                      std::string("rollback.json is unreadable: ") + e.what() +
                          " (it is the journal of an interrupted rollback; restore it or inspect "
                          "the target by hand)");
  }
}

}  // namespace cm::rollback
