#include "common/run/prepare_record.hpp"

#include <xxhash.h>

#include <spdlog/fmt/fmt.h>

#include "common/base/atomic_file.hpp"

namespace cm {
namespace {

nlohmann::json body_json(const PrepareRecord& r) {
  auto collections = nlohmann::json::array();
  for (const auto& c : r.collections) {
    collections.push_back({{"name", c.name},
                           {"action", enum_name(c.action)},
                           {"collection_id", c.collection_id},
                           {"record_count", c.record_count},
                           {"content_digest", c.content_digest},
                           {"quarantine_name", c.quarantine_name},
                           {"dropped_at", c.dropped_at}});
  }
  nlohmann::json body = {
      {"format", PrepareRecord::kFormatVersion},
      {"run_id", r.run_id},
      {"shards", r.shards},
      {"config_hash", r.config_hash},
      {"target", r.target},
      {"state", enum_name(r.state)},
      {"backup", {{"path", r.backup_path}, {"verified_at", r.backup_verified_at}}},
      {"prepared_at", r.prepared_at},
      {"collections", collections}};
  // Only staged records carry the key: an unstaged record's checksum (which prepared shards bind
  // their configuration to) stays what it was before staged prepares existed.
  if (r.staged) body["staged"] = true;
  return body;
}

// nlohmann::json objects are ordered by key, so dump() is canonical for the same content.
std::string checksum_of(const nlohmann::json& body) {
  const std::string text = body.dump();
  return fmt::format("{:016x}", XXH64(text.data(), text.size(), 0));
}

Result<PrepareRecord> body_from_json(const nlohmann::json& j, const std::string& where) {
  PrepareRecord r;
  try {
    if (j.at("format").get<int>() != PrepareRecord::kFormatVersion) {
      return make_error(ErrorCode::kCorruption,
                        where + ": unknown format " + j.at("format").dump() +
                            " (written by another version of chroma-migrate?)");
    }
    r.run_id = j.at("run_id").get<std::string>();
    r.shards = j.at("shards").get<std::uint32_t>();
    r.config_hash = j.at("config_hash").get<std::string>();
    r.target = j.at("target").get<std::string>();
    CM_ASSIGN_OR_RETURN(r.state,
                        parse_enum<PrepareState>(j.at("state").get<std::string>(), where, "state"));
    r.staged = j.value("staged", false);
    r.backup_path = j.at("backup").at("path").get<std::string>();
    r.backup_verified_at = j.at("backup").at("verified_at").get<std::string>();
    r.prepared_at = j.at("prepared_at").get<std::string>();
    for (const auto& c : j.at("collections")) {
      PreparedCollection pc;
      pc.name = c.at("name").get<std::string>();
      CM_ASSIGN_OR_RETURN(pc.action, parse_enum<LedgerAction>(c.at("action").get<std::string>(),
                                                              where, "collections[].action"));
      pc.collection_id = c.at("collection_id").get<std::string>();
      pc.record_count = c.at("record_count").get<std::uint64_t>();
      pc.content_digest = c.at("content_digest").get<std::string>();
      pc.quarantine_name = c.at("quarantine_name").get<std::string>();
      pc.dropped_at = c.at("dropped_at").get<std::string>();
      r.collections.push_back(std::move(pc));
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kCorruption, where + ": " + e.what());
  }
  return r;
}

}  // namespace

const PreparedCollection* PrepareRecord::find(const std::string& name) const {
  for (const auto& c : collections)
    if (c.name == name) return &c;
  return nullptr;
}

std::filesystem::path prepare_record_path(const std::filesystem::path& prepared_dir) {
  return prepared_dir / "prepared.json";
}

std::string prepare_record_checksum(const PrepareRecord& record) {
  return checksum_of(body_json(record));
}

nlohmann::json prepare_record_to_json(const PrepareRecord& record) {
  auto json = body_json(record);
  json["checksum"] = checksum_of(json);
  return json;
}

Result<PrepareRecord> prepare_record_from_text(const std::string& text, const std::string& where) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object() || !json.contains("checksum") || !json["checksum"].is_string()) {
    return make_error(ErrorCode::kCorruption,
                      where + " is not a prepare record (no JSON object with a checksum)");
  }
  const std::string recorded = json["checksum"].get<std::string>();
  json.erase("checksum");
  if (const std::string actual = checksum_of(json); actual != recorded) {
    return make_error(ErrorCode::kCorruption,
                      where + " fails its checksum (recorded " + recorded + ", content " + actual +
                          "): it was edited or damaged; do not use it. Run --prepare again in a "
                          "new directory (the backup may still be restored by hand: "
                          "chroma-rollback --backup-path)");
  }
  return body_from_json(json, where);
}

Status write_prepare_record(const std::filesystem::path& prepared_dir,
                            const PrepareRecord& record) {
  return write_file_atomic(prepare_record_path(prepared_dir),
                           prepare_record_to_json(record).dump(2) + "\n");
}

Result<PrepareRecord> load_prepare_record(const std::filesystem::path& prepared_dir) {
  const auto path = prepare_record_path(prepared_dir);
  if (!std::filesystem::exists(path)) {
    return make_error(ErrorCode::kNotFound,
                      path.string() +
                          " does not exist: run chroma-migrate --prepare with that "
                          "--work-dir first (README: sharded runs)");
  }
  CM_ASSIGN_OR_RETURN(const std::string text, read_file(path));
  return prepare_record_from_text(text, path.string());
}

Status check_prepare_binding(const PrepareRecord& record, const std::string& run_id,
                             std::uint32_t shards, const std::string& config_hash, bool staged) {
  auto mismatch = [&](const std::string& what) {
    return make_error(ErrorCode::kConfigMismatch,
                      "the prepared dir was prepared for " + what +
                          ": every shard must be started with the command --prepare was given "
                          "(only --prepare/--shards N becoming --shard I/N and --work-dir differ); "
                          "nothing was written");
  };
  if (record.run_id != run_id) {
    return mismatch("run " + record.run_id + ", this shard is of run " + run_id);
  }
  if (record.shards != shards) {
    return mismatch(std::to_string(record.shards) + " shards, this shard is one of " +
                    std::to_string(shards));
  }
  if (record.staged != staged) {
    return mismatch(record.staged ? "a staged run (--stage), this shard is not staged"
                                  : "a run without --stage, this shard is staged");
  }
  if (record.config_hash != config_hash) {
    return mismatch("another configuration (hash " + record.config_hash + ", this shard's " +
                    config_hash +
                    "; source, target, collections, batch size, mapping, contract "
                    "or --if-exists differ)");
  }
  return ok_status();
}

Status check_prepare_record(const PrepareRecord& record, const std::string& run_id,
                            std::uint32_t shards, const std::string& config_hash, bool staged) {
  CM_RETURN_IF_ERROR(check_prepare_binding(record, run_id, shards, config_hash, staged));
  if (record.state != PrepareState::kReady) {
    return make_error(ErrorCode::kConfigMismatch,
                      "the prepare of run " + run_id + " did not finish (state " +
                          enum_name(record.state) +
                          "): run the same chroma-migrate --prepare again to finish it");
  }
  return ok_status();
}

Status check_prepared_collection(const std::string& name, LedgerAction action,
                                 const std::string& backed_up_id,
                                 const std::optional<CollectionInfo>& live,
                                 const std::string& run_id, bool staged) {
  const bool kept_live =
      action == LedgerAction::kMerged || (staged && action == LedgerAction::kReplaced);
  if (kept_live) {
    if (!live) {
      return make_error(ErrorCode::kVerifyFailed,
                        "target collection '" + name + "' (id " + backed_up_id +
                            "), backed up by --prepare " +
                            (staged ? "to be retained at the cutover" : "to merge into") +
                            ", no longer exists; nothing was written. Prepare again in a new "
                            "directory");
    }
    if (live->id != backed_up_id) {
      return make_error(ErrorCode::kAlreadyExists,
                        "target collection '" + name + "' has id " + live->id +
                            ", but --prepare backed up id " + backed_up_id +
                            ": it was replaced after the prepare, and the backup does not hold "
                            "it; nothing was written into it. Prepare again in a new directory");
    }
  } else if (action == LedgerAction::kReplaced && live && !owned_by_run(*live, run_id)) {
    return make_error(ErrorCode::kAlreadyExists,
                      "target collection '" + name + "' (id " + live->id +
                          ") is someone else's: --prepare dropped the backed-up one (id " +
                          backed_up_id + ") and the shards of run " + run_id +
                          " create it afresh; nothing was written into it. Remove it, or "
                          "prepare again in a new directory");
  }
  return ok_status();
}

}  // namespace cm
