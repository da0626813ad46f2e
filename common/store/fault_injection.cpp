#include "common/store/fault_injection.hpp"

#include <charconv>
#include <csignal>
#include <cstdint>

#include <spdlog/spdlog.h>

namespace cm {
namespace {

std::unexpected<Error> bad_spec(const std::string& rule, const std::string& why) {
  return make_error(
      ErrorCode::kInvalidArgument,
      "CHROMA_MIGRATE_FAULTS rule '" + rule + "': " + why +
          " (form: role.operation=crash@N | stop@N | transient@A-B | reject@N | corrupt@N)");
}

// Digits only, no sign or blanks, 1..UINT64_MAX; a number too large is a bad spec (a usage error),
// not an exception.
bool parse_u64(const std::string& s, std::uint64_t* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  *out = value;
  return value > 0;
}

}  // namespace

Result<std::vector<FaultRule>> parse_fault_spec(const std::string& spec) {
  std::vector<FaultRule> rules;
  std::size_t start = 0;
  while (start <= spec.size()) {
    auto end = spec.find(';', start);
    std::string text =
        spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? spec.size() + 1 : end + 1;
    if (text.empty()) continue;
    auto dot = text.find('.'), eq = text.find('='), at = text.find('@');
    if (dot == std::string::npos || eq == std::string::npos || at == std::string::npos ||
        !(dot < eq && eq < at)) {
      return bad_spec(text, "malformed");
    }
    FaultRule rule;
    rule.role = text.substr(0, dot);
    rule.op = text.substr(dot + 1, eq - dot - 1);
    std::string action = text.substr(eq + 1, at - eq - 1), calls = text.substr(at + 1);
    if (action == "crash") {
      rule.action = FaultRule::Action::kCrash;
    } else if (action == "stop") {
      rule.action = FaultRule::Action::kStop;
    } else if (action == "transient") {
      rule.action = FaultRule::Action::kTransient;
    } else if (action == "reject") {
      rule.action = FaultRule::Action::kReject;
    } else if (action == "corrupt") {
      if (rule.op != "upsert") return bad_spec(text, "corrupt applies to upsert only");
      rule.action = FaultRule::Action::kCorrupt;
    } else {
      return bad_spec(text, "unknown action '" + action + "'");
    }
    auto dash = calls.find('-');
    if (dash == std::string::npos) {
      if (!parse_u64(calls, &rule.first))
        return bad_spec(text, "call number must be a whole number from 1 to 18446744073709551615");
      rule.last = rule.first;
    } else {
      if (!parse_u64(calls.substr(0, dash), &rule.first)) return bad_spec(text, "bad range start");
      std::string last = calls.substr(dash + 1);
      if (last.empty()) {
        rule.last = UINT64_MAX;
      } else if (!parse_u64(last, &rule.last) || rule.last < rule.first) {
        return bad_spec(text, "bad range end");
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

FaultInjectingStore::FaultInjectingStore(std::unique_ptr<VectorStore> inner,
                                         std::vector<FaultRule> rules)
    : ForwardingStore(std::move(inner)), rules_(std::move(rules)) {}

template <typename F>
auto FaultInjectingStore::inject(const std::string& op, F&& call, bool* corrupted)
    -> decltype(call()) {
  std::uint64_t n;
  {
    std::lock_guard lock(mutex_);
    n = ++calls_[op];
  }
  const FaultRule* crash = nullptr;
  const FaultRule* stop = nullptr;
  for (const auto& rule : rules_) {
    if (rule.op != op || n < rule.first || n > rule.last) continue;
    if (rule.action == FaultRule::Action::kCrash) {
      crash = &rule;
    } else if (rule.action == FaultRule::Action::kStop) {
      stop = &rule;
    } else if (rule.action == FaultRule::Action::kCorrupt) {
      if (corrupted) *corrupted = true;
    } else if (rule.action == FaultRule::Action::kTransient) {
      return make_error(ErrorCode::kTransient,
                        "injected transient fault in " + op + " call " + std::to_string(n));
    } else {
      return make_error(ErrorCode::kRejected,
                        "injected rejection in " + op + " call " + std::to_string(n), 400);
    }
  }
  auto result = call();
  if (crash && result) {
    spdlog::default_logger()->flush();
    std::raise(SIGKILL);
  }
  if (stop && result) {
    spdlog::default_logger()->flush();
    std::raise(SIGSTOP);  // the test changes the world (fills a disk, ...), then sends SIGCONT
  }
  return result;
}

Result<CollectionInfo> FaultInjectingStore::create_collection(const CollectionSpec& spec) {
  return inject("create_collection", [&] { return inner().create_collection(spec); });
}
Result<std::uint64_t> FaultInjectingStore::count(const CollectionInfo& c) {
  return inject("count", [&] { return inner().count(c); });
}
Result<std::vector<std::string>> FaultInjectingStore::list_ids(const CollectionInfo& c,
                                                               std::uint64_t offset,
                                                               std::uint32_t limit) {
  return inject("list_ids", [&] { return inner().list_ids(c, offset, limit); });
}
Result<std::vector<Record>> FaultInjectingStore::get_records(const CollectionInfo& c,
                                                             std::span<const std::string> ids) {
  return inject("get_records", [&] { return inner().get_records(c, ids); });
}
Status FaultInjectingStore::delete_collection(const std::string& name) {
  return inject("delete_collection", [&] { return inner().delete_collection(name); });
}
Status FaultInjectingStore::rename_collection(const CollectionInfo& c,
                                              const std::string& new_name) {
  return inject("rename_collection", [&] { return inner().rename_collection(c, new_name); });
}
Status FaultInjectingStore::update_collection_metadata(const CollectionInfo& c,
                                                       const Metadata& metadata) {
  return inject("update_collection_metadata",
                [&] { return inner().update_collection_metadata(c, metadata); });
}
Status FaultInjectingStore::upsert(const CollectionInfo& c, std::span<const Record> records) {
  bool corrupt = false;
  return inject(
      "upsert",
      [&]() -> Status {
        if (!corrupt || records.empty() || records.front().embedding.empty())
          return inner().upsert(c, records);
        std::vector<Record> changed(records.begin(), records.end());
        changed.front().embedding.front() += 0.01f;
        spdlog::debug("injected corruption: record {} of {}", changed.front().id, c.name);
        return inner().upsert(c, changed);
      },
      &corrupt);
}
Status FaultInjectingStore::remove_metadata_keys(const CollectionInfo& c,
                                                 std::span<const MetadataKeyRemoval> removals) {
  return inject("remove_metadata_keys", [&] { return inner().remove_metadata_keys(c, removals); });
}
Status FaultInjectingStore::delete_records(const CollectionInfo& c,
                                           std::span<const std::string> ids) {
  return inject("delete_records", [&] { return inner().delete_records(c, ids); });
}
Result<std::vector<std::vector<QueryHit>>> FaultInjectingStore::query(
    const CollectionInfo& c, std::span<const std::vector<float>> embeddings, std::size_t k) {
  return inject("query", [&] { return inner().query(c, embeddings, k); });
}

}  // namespace cm
