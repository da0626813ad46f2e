#include "migrate/sync_screen.hpp"

#include <algorithm>
#include <unordered_map>

#include "common/store/same_content.hpp"

namespace cm::migrate {
namespace {

bool holds(const std::string& space, const std::optional<Record>& now,
           const std::optional<Record>& expected) {
  if (!now || !expected) return !now && !expected;
  return same_content(space, *expected, *now);
}

}  // namespace

Result<std::vector<IntentVerdict>> screen_intents(VectorStore& target,
                                                  const CollectionInfo& collection,
                                                  std::span<const TargetIntent> intents,
                                                  std::size_t batch) {
  std::unordered_map<std::string, Record> now;
  const std::size_t step = std::max<std::size_t>(batch, 1);
  for (std::size_t at = 0; at < intents.size(); at += step) {
    std::vector<std::string> ids;
    for (std::size_t i = at; i < std::min(intents.size(), at + step); ++i)
      ids.push_back(intents[i].id);
    CM_ASSIGN_OR_RETURN(auto records, target.get_records(collection, ids));
    for (auto& r : records) now.insert_or_assign(r.id, std::move(r));
  }
  const std::string& space = collection.hnsw.space;
  std::vector<IntentVerdict> verdicts;
  verdicts.reserve(intents.size());
  for (const auto& intent : intents) {
    std::optional<Record> current;
    if (auto it = now.find(intent.id); it != now.end()) current = it->second;
    if (holds(space, current, intent.after)) {
      verdicts.push_back(IntentVerdict::kAlreadyDone);
    } else if (holds(space, current, intent.before)) {
      verdicts.push_back(IntentVerdict::kWrite);
    } else {
      verdicts.push_back(IntentVerdict::kConflict);
    }
  }
  return verdicts;
}

}  // namespace cm::migrate
