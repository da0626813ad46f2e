#include "common/run/interlocks.hpp"

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"

namespace cm {
namespace {

// scheme://host:port without credentials or trailing path, lower-cased host part.
std::string server_of(const StoreUri& uri) {
  std::string url = uri.base_url;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  auto at = url.find('@', scheme_end + 3);
  auto slash = url.find('/', scheme_end + 3);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    url.erase(scheme_end + 3, at + 1 - (scheme_end + 3));
  }
  for (auto& c : url) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return url;
}

Result<bool> listed_as_working(const std::filesystem::path& file, const StoreUri& target) {
  CM_ASSIGN_OR_RETURN(std::string text, read_file(file));
  auto json = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "targets file " + file.string() + ": " + why +
                          R"( (expected {"working": ["http://host:port[?database=D]", ...]}))");
  };
  if (!json.is_object() || !json.contains("working") || !json["working"].is_array())
    return bad("no \"working\" list");
  for (const auto& [key, value] : json.items()) {
    if (key != "working" && key != "test") return bad("unknown key \"" + key + "\"");
  }
  for (const auto& entry : json["working"]) {
    if (!entry.is_string()) return bad("\"working\" entries must be URI strings");
    const std::string text_uri = entry.get<std::string>();
    auto uri = parse_store_uri(text_uri);
    if (!uri) return bad(uri.error().message);
    if (uri->kind != target.kind) continue;
    if (uri->kind == StoreUri::Kind::kSnapshot) {
      if (std::filesystem::weakly_canonical(uri->snapshot_dir) ==
          std::filesystem::weakly_canonical(target.snapshot_dir))
        return true;
      continue;
    }
    if (server_of(*uri) != server_of(target)) continue;
    const bool names_namespace = text_uri.find('?') != std::string::npos;
    if (!names_namespace || (uri->tenant == target.tenant && uri->database == target.database))
      return true;
  }
  return false;
}

}  // namespace

Result<std::optional<TargetKind>> parse_target_env(const std::string& text) {
  if (text.empty()) return std::optional<TargetKind>{};
  if (auto kind = enum_from_name<TargetKind>(text)) return kind;
  return make_error(
      ErrorCode::kInvalidArgument,
      "--target-env (or MIGRATION_TARGET) must be 'test' or 'working', not '" + text + "'");
}

Result<InterlockDecision> check_interlocks(const InterlockInput& in) {
  InterlockDecision decision;
  decision.target_kind = in.target_env.value_or(TargetKind::kTest);
  if (!in.targets_file.empty()) {
    CM_ASSIGN_OR_RETURN(decision.listed_as_working, listed_as_working(in.targets_file, in.target));
  }
  if (in.dry_run) return decision;  // nothing will be written
  if (decision.target_kind == TargetKind::kTest && decision.listed_as_working) {
    return make_error(ErrorCode::kRefused, "the target " + in.target.redacted() +
                                               " is listed as working in " +
                                               in.targets_file.string() +
                                               " but this run says --target-env test: refusing. If "
                                               "you mean to change production, pass "
                                               "--target-env working with MIGRATION_CONFIRM=" +
                                               kWorkingConfirmation);
  }
  if (decision.target_kind == TargetKind::kWorking &&
      in.confirmation != std::string(kWorkingConfirmation)) {
    return make_error(ErrorCode::kRefused,
                      "the target is a working (production) store and MIGRATION_CONFIRM is " +
                          std::string(in.confirmation ? "not the expected value" : "not set") +
                          ": set MIGRATION_CONFIRM=" + kWorkingConfirmation +
                          " to allow writing to " + in.target.redacted());
  }
  return decision;
}

}  // namespace cm
