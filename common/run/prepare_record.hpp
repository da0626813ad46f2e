// The record of `chroma-migrate --prepare` (migrate/prepare.hpp): the one step a sharded run with
// --if-exists merge|replace runs before its shards, so that a live target collection is backed up
// ONCE, before any shard writes to it. <prepared dir>/prepared.json names, per target collection
// the run touches, its server id, record count and content digest at backup time (the backup in
// <prepared dir>/snapshots/backup holds exactly that), with the run id and the configuration hash.
// The shards (--prepared DIR) agree on the backup by reading this one file: each checks that it
// was prepared for its run id and configuration, and that every live target collection is still
// the one backed up (same server id), before its first write.
//
// A staged prepare (--prepare --stage --if-exists replace) backs up and drops nothing: the shards
// build "<name>.staged-<run id>" beside the live name, which keeps serving (and must stay the
// collection backed up) until chroma-migrate --cutover of the shards swaps them in. The record says
// so ("staged": true, written only when true so the checksum of an unstaged record is what it was);
// a shard must match it (the configuration hash covers --stage too).
//
// Written atomically (temp, fsync, rename) and checksummed (XXH64 of its canonical JSON without
// the checksum): a torn or edited record is kCorruption (exit 7), never trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/enum_names.hpp"
#include "common/base/error.hpp"
#include "common/run/run_manifest.hpp"

namespace cm {

// backed_up: the backup is sealed and verified; a replace's drops may not have happened yet
// (re-running --prepare finishes them). ready: every step done; only then may shards use it.
enum class PrepareState { kBackedUp, kReady };
template <>
struct EnumNames<PrepareState> {
  static constexpr std::pair<PrepareState, const char*> kNames[] = {
      {PrepareState::kBackedUp, "backed_up"}, {PrepareState::kReady, "ready"}};
};

struct PreparedCollection {
  std::string name;
  LedgerAction action = LedgerAction::kMerged;  // merged | replaced
  std::string collection_id;                    // the server id the backup holds
  std::uint64_t record_count = 0;               // at backup time (= the backup's manifest)
  std::string content_digest;                   // the backup manifest's content_digest
  // replace: the quarantine name journalled before the pinned delete, and when it was dropped
  // ("" not yet). The shards then create the collection afresh, as create-only shards do. Both
  // stay "" for a staged prepare (nothing dropped; the cutover retains the live collection).
  std::string quarantine_name;
  std::string dropped_at;

  bool operator==(const PreparedCollection&) const = default;
};

struct PrepareRecord {
  static constexpr int kFormatVersion = 1;
  std::string run_id;
  std::uint32_t shards = 0;  // the N the shards must run with
  // ckpt::hash_config of the shards' bound configuration without the shard (migrate/run_setup).
  std::string config_hash;
  std::string target;  // redacted description
  PrepareState state = PrepareState::kBackedUp;
  bool staged = false;      // --stage: nothing dropped, the shards stage beside the live names
  std::string backup_path;  // relative to the prepared dir: snapshots/backup
  std::string backup_verified_at;
  std::string prepared_at;
  std::vector<PreparedCollection> collections;

  const PreparedCollection* find(const std::string& name) const;
  bool operator==(const PrepareRecord&) const = default;
};

// <dir>/prepared.json
std::filesystem::path prepare_record_path(const std::filesystem::path& prepared_dir);

// The record as JSON with its "checksum" field; parse checks format and checksum (`where` names
// the file in messages). Errors: kCorruption for a bad checksum, a format or a field.
nlohmann::json prepare_record_to_json(const PrepareRecord& record);
Result<PrepareRecord> prepare_record_from_text(const std::string& text, const std::string& where);
// The checksum a record's JSON carries (16 lowercase hex digits).
std::string prepare_record_checksum(const PrepareRecord& record);

Status write_prepare_record(const std::filesystem::path& prepared_dir, const PrepareRecord& record);
// kNotFound when the dir holds no record.
Result<PrepareRecord> load_prepare_record(const std::filesystem::path& prepared_dir);

// Whether a shard of run `run_id` with `shards` shards, configuration hash `config_hash` and
// --stage or not (`staged`) may use this record: same run id, shard count, staging and
// configuration (else kConfigMismatch, exit 3, naming what differs), and state ready (else
// kConfigMismatch: run --prepare again to finish it).
Status check_prepare_record(const PrepareRecord& record, const std::string& run_id,
                            std::uint32_t shards, const std::string& config_hash,
                            bool staged = false);
// The same without the state (a re-run of --prepare finishes a record left backed_up).
Status check_prepare_binding(const PrepareRecord& record, const std::string& run_id,
                             std::uint32_t shards, const std::string& config_hash,
                             bool staged = false);

// Whether a shard may write the live target collection `name` of run `run_id`, whose ledger entry
// says `action` with the prepared backup's id `backed_up_id` (merged | replaced; created: always).
// `live`: what the target holds under the name now. merged: the collection backed up (same id),
// else kAlreadyExists (exit 9: replaced behind the run's back; the backup does not hold it) or,
// gone, kVerifyFailed. replaced: --prepare dropped it, so the name holds nothing or the collection
// another shard of this run created (its run id); anything else is kAlreadyExists. `staged`
// (a staged prepare): replaced is checked as merged is, since nothing was dropped and the live
// name must still hold the collection backed up until the cutover retains it.
Status check_prepared_collection(const std::string& name, LedgerAction action,
                                 const std::string& backed_up_id,
                                 const std::optional<CollectionInfo>& live,
                                 const std::string& run_id, bool staged = false);

}  // namespace cm
