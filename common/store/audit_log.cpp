#include "common/store/audit_log.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"

namespace cm {

std::string current_actor() {
  std::string user = "unknown";
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) user = pw->pw_name;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown-host");
  return user + "@" + host;
}

std::shared_ptr<AuditLog> AuditLog::open(const std::filesystem::path& file, std::string run_id) {
  return std::shared_ptr<AuditLog>(new AuditLog(file, std::move(run_id)));
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status AuditLog::append(nlohmann::json entry) {
  entry["time"] = now_iso8601();
  entry["run_id"] = run_id_;
  entry["actor"] = actor_;
  const std::string line = entry.dump() + "\n";
  std::lock_guard lock(mutex_);
  if (fd_ < 0) {
    CM_RETURN_IF_ERROR(ensure_directory(file_.parent_path()));
    fd_ = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      return make_error(ErrorCode::kIo,
                        "cannot open audit log " + file_.string() + ": " + std::strerror(errno));
    }
  }
  // One write() per line: with O_APPEND the line lands whole even if other processes append too.
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(fd_) != 0) {
    return make_error(ErrorCode::kIo,
                      "cannot append to audit log " + file_.string() + ": " + std::strerror(errno));
  }
  return ok_status();
}

AuditingStore::AuditingStore(std::unique_ptr<VectorStore> inner, std::shared_ptr<AuditLog> log)
    : ForwardingStore(std::move(inner)), log_(std::move(log)) {}

template <typename R>
R AuditingStore::audited(const char* action, const std::string& collection, std::size_t records,
                         R result, nlohmann::json extra) {
  nlohmann::json entry = {{"store", describe()},
                          {"action", action},
                          {"collection", collection},
                          {"records", records},
                          {"outcome", result ? "ok" : "error"}};
  for (auto& [key, value] : extra.items()) entry[key] = std::move(value);
  if (!result) entry["error"] = result.error().message;
  if (auto status = log_->append(std::move(entry)); !status)
    return std::unexpected(std::move(status).error());
  return result;
}

Result<CollectionInfo> AuditingStore::create_collection(const CollectionSpec& spec) {
  return audited("create_collection", spec.name, 0, inner().create_collection(spec));
}
Status AuditingStore::delete_collection(const std::string& name) {
  return audited("delete_collection", name, 0, inner().delete_collection(name));
}
Status AuditingStore::upsert(const CollectionInfo& c, std::span<const Record> records) {
  return audited("upsert", c.name, records.size(), inner().upsert(c, records));
}
Status AuditingStore::remove_metadata_keys(const CollectionInfo& c,
                                           std::span<const MetadataKeyRemoval> removals) {
  return audited("remove_metadata_keys", c.name, removals.size(),
                 inner().remove_metadata_keys(c, removals));
}
Status AuditingStore::delete_records(const CollectionInfo& c, std::span<const std::string> ids) {
  return audited("delete_records", c.name, ids.size(), inner().delete_records(c, ids));
}
Status AuditingStore::update_collection_metadata(const CollectionInfo& c,
                                                 const Metadata& metadata) {
  return audited("update_collection_metadata", c.name, 0,
                 inner().update_collection_metadata(c, metadata));
}
Status AuditingStore::rename_collection(const CollectionInfo& c, const std::string& new_name) {
  return audited("rename_collection", c.name, 0, inner().rename_collection(c, new_name),
                 {{"new_name", new_name}, {"collection_id", c.id}});
}

}  // namespace cm
