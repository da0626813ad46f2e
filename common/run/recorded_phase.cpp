#include "common/run/recorded_phase.hpp"

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"

namespace cm {

std::string recorded_phase(const WorkDir& work) {
  auto text = read_file(work.checkpoint());
  if (!text) return "unknown";
  auto j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_object() && j.contains("phase") && j["phase"].is_string()
             ? j["phase"].get<std::string>()
             : "unknown";
}

}  // namespace cm
