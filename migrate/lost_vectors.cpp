#include "migrate/lost_vectors.hpp"

#include <fmt/format.h>

#include "common/base/atomic_file.hpp"

namespace cm::migrate {
namespace {

constexpr std::size_t kSamples = PersistCollectionHealth::kSampleIds;

std::string sample_text(const std::vector<std::string>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < 3; ++i) out += (i ? ", " : "") + ids[i];
  return out;
}

}  // namespace

std::uint64_t LostVectors::total() const {
  std::uint64_t n = 0;
  for (const auto& [name, list] : ids) n += list.size();
  return n;
}

Result<LostVectors> find_lost_vectors(PersistStore* persist,
                                      const std::vector<std::string>& names) {
  LostVectors out;
  if (!persist) return out;
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto info, persist->find_collection(name));
    if (!info) continue;  // resolve_collections reports it
    CM_ASSIGN_OR_RETURN(auto lost, persist->unrecoverable_ids(*info));
    if (!lost.empty()) out.ids[name] = std::move(lost);
  }
  return out;
}

std::unexpected<Error> refuse_lost_vectors(const LostVectors& lost, const std::string& source,
                                           bool resumed) {
  std::string per;
  for (const auto& [name, ids] : lost.ids) {
    per += fmt::format("{}{}: {} (e.g. {})", per.empty() ? "" : "; ", name, ids.size(),
                       sample_text(ids));
  }
  return make_error(
      ErrorCode::kCorruption,
      fmt::format("{} record(s) of {} have no vector left anywhere (damaged HNSW segment, and no "
                  "embeddings_queue row holds it): {}. Nothing {}was written. See every figure "
                  "with chroma-migrate --inspect --source {}; to migrate the other records and "
                  "list these as unrecoverable at the source, run again with "
                  "--allow-missing-vectors",
                  lost.total(), source, per, resumed ? "more " : "", source));
}

Result<nlohmann::json> record_lost_vectors(const LostVectors& lost, const WorkDir& work) {
  if (lost.ids.empty()) return nlohmann::json::object();
  nlohmann::json all = nlohmann::json::object(), collections = nlohmann::json::object();
  for (const auto& [name, ids] : lost.ids) {
    all[name] = ids;
    const std::vector<std::string> sample(ids.begin(),
                                          ids.begin() + std::min(ids.size(), kSamples));
    collections[name] = {{"count", ids.size()}, {"sample", sample}};
  }
  CM_RETURN_IF_ERROR(write_file_atomic(work.unrecoverable_at_source(), all.dump(1) + "\n"));
  return nlohmann::json{{"file", work.unrecoverable_at_source().filename().string()},
                        {"total", lost.total()},
                        {"collections", collections}};
}

std::string describe_lost_vectors(const nlohmann::json& recorded, const WorkDir& work) {
  std::string per;
  const auto collections = recorded.value("collections", nlohmann::json::object());
  for (const auto& [name, c] : collections.items()) {
    per += fmt::format("{}{}: {} (e.g. {})", per.empty() ? "" : "; ", name,
                       c.value("count", std::uint64_t{0}),
                       sample_text(c.value("sample", std::vector<std::string>{})));
  }
  return fmt::format("{} record(s) ({}); every id in {}", recorded.value("total", std::uint64_t{0}),
                     per, (work.root() / recorded.value("file", "")).string());
}

}  // namespace cm::migrate
