#include "checkpoints/checkpoint.hpp"

#include <fmt/format.h>

#include <xxhash.h>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"

namespace cm::ckpt {
namespace {

constexpr const char* kPhaseNames[] = {"init",   "export", "transform",
                                       "import", "verify", "complete"};

std::unexpected<Error> corrupt(const std::string& why) {
  return make_error(ErrorCode::kCorruption,
                    "checkpoint is unreadable (" + why +
                        "): it was not written by this version or was edited by hand");
}

}  // namespace

const char* phase_name(Phase phase) {
  return kPhaseNames[static_cast<int>(phase)];
}

std::optional<Phase> phase_from_name(const std::string& name) {
  for (int i = 0; i < 6; ++i) {
    if (name == kPhaseNames[i]) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

const StageProgress* Checkpoint::find(const std::string& stage,
                                      const std::string& collection) const {
  auto s = stages.find(stage);
  if (s == stages.end()) return nullptr;
  auto c = s->second.find(collection);
  return c == s->second.end() ? nullptr : &c->second;
}

std::string hash_config(const nlohmann::json& config) {
  std::string text = config.dump();  // nlohmann objects are key-sorted: canonical
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::string describe_config_difference(const nlohmann::json& before, const nlohmann::json& after) {
  std::string out;
  auto note = [&](const std::string& key, const std::string& a, const std::string& b) {
    if (!out.empty()) out += "; ";
    out += key + ": " + a + " -> " + b;
  };
  for (const auto& [key, value] : before.items()) {
    if (!after.contains(key)) {
      note(key, value.dump(), "(absent)");
    } else if (after[key] != value) {
      note(key, value.dump(), after[key].dump());
    }
  }
  for (const auto& [key, value] : after.items()) {
    if (!before.contains(key)) note(key, "(absent)", value.dump());
  }
  return out.empty() ? "no visible difference" : out;
}

nlohmann::json checkpoint_to_json(const Checkpoint& c) {
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& [stage, collections] : c.stages) {
    for (const auto& [name, p] : collections) {
      stages[stage][name] = {{"total_batches", p.total_batches},
                             {"done", p.done.to_json()},
                             {"finished", p.finished},
                             {"details", p.details}};
    }
  }
  return {{"format_version", Checkpoint::kFormatVersion},
          {"run_id", c.run_id},
          {"config", c.config},
          {"config_hash", c.config_hash},
          {"phase", phase_name(c.phase)},
          {"stages", stages},
          {"updated_at", c.updated_at}};
}

Result<Checkpoint> checkpoint_from_json(const nlohmann::json& j) {
  try {
    if (j.at("format_version").get<int>() != Checkpoint::kFormatVersion) {
      return corrupt("format_version " + j.at("format_version").dump() + " is not supported");
    }
    Checkpoint c;
    c.run_id = j.at("run_id").get<std::string>();
    c.config = j.at("config");
    c.config_hash = j.at("config_hash").get<std::string>();
    auto phase = phase_from_name(j.at("phase").get<std::string>());
    if (!phase) return corrupt("unknown phase " + j.at("phase").dump());
    c.phase = *phase;
    c.updated_at = j.value("updated_at", "");
    for (const auto& [stage, collections] : j.at("stages").items()) {
      for (const auto& [name, p] : collections.items()) {
        StageProgress progress;
        progress.total_batches = p.at("total_batches").get<std::size_t>();
        std::string why;
        auto done = BatchSet::from_json(p.at("done"), &why);
        if (!done) return corrupt(stage + "/" + name + ": " + why);
        progress.done = std::move(*done);
        progress.finished = p.at("finished").get<bool>();
        progress.details = p.value("details", nlohmann::json::object());
        c.stages[stage][name] = std::move(progress);
      }
    }
    if (hash_config(c.config) != c.config_hash) return corrupt("config_hash does not match config");
    return c;
  } catch (const nlohmann::json::exception& e) {
    return corrupt(e.what());
  }
}

bool CheckpointStore::exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::create(const std::filesystem::path& path,
                                                                 Checkpoint initial) {
  if (exists(path)) {
    return make_error(ErrorCode::kAlreadyExists, "a checkpoint already exists at " + path.string());
  }
  initial.config_hash = hash_config(initial.config);
  initial.updated_at = now_iso8601();
  CM_ASSIGN_OR_RETURN(auto document, Document::create(path, std::move(initial)));
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(std::move(document)));
}

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::load(const std::filesystem::path& path) {
  auto document = Document::load(path);
  if (!document) {
    // Not valid JSON: say it the way checkpoint_from_json's errors do.
    if (document.error().code == ErrorCode::kCorruption &&
        !document.error().message.starts_with("checkpoint is unreadable")) {
      return corrupt(document.error().message);
    }
    return std::unexpected(document.error());
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(std::move(*document)));
}

Status CheckpointStore::update(const std::function<void(Checkpoint&)>& change) {
  return document_->update([&](Checkpoint& c) {
    change(c);
    c.updated_at = now_iso8601();
  });
}

}  // namespace cm::ckpt
