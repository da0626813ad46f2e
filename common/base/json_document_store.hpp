// A value kept in one JSON file that is rewritten atomically (temp, fsync, rename) on every change,
// so a crash leaves either the old or the new document, never a torn one. run.json and
// rollback.json are such documents. Thread-safe: update() serialises changes, get() returns a
// copy (never keep references into it across an update). `Indent` is the JSON indentation
// (checkpoint.json, rewritten after every batch, uses 1).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/base/error.hpp"

namespace cm {

template <typename T, nlohmann::json (*ToJson)(const T&),
          Result<T> (*FromJson)(const nlohmann::json&), int Indent = 2>
class JsonDocumentStore {
 public:
  // Writes `value` as the file's first version.
  static Result<std::unique_ptr<JsonDocumentStore>> create(const std::filesystem::path& path,
                                                           T value) {
    CM_RETURN_IF_ERROR(write_file_atomic(path, ToJson(value).dump(Indent) + "\n"));
    return std::unique_ptr<JsonDocumentStore>(new JsonDocumentStore(path, std::move(value)));
  }
  // kCorruption when the file is not valid JSON or FromJson rejects it.
  static Result<std::unique_ptr<JsonDocumentStore>> load(const std::filesystem::path& path) {
    CM_ASSIGN_OR_RETURN(std::string text, read_file(path));
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded())
      return make_error(ErrorCode::kCorruption, path.string() + " is not valid JSON");
    CM_ASSIGN_OR_RETURN(T value, FromJson(json));
    return std::unique_ptr<JsonDocumentStore>(new JsonDocumentStore(path, std::move(value)));
  }

  T get() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  // Applies `change` to a copy, writes it, and only then makes it the current value: a failed
  // write leaves both the file and the value as they were.
  Status update(const std::function<void(T&)>& change) {
    std::lock_guard lock(mutex_);
    T next = value_;
    change(next);
    CM_RETURN_IF_ERROR(write_file_atomic(path_, ToJson(next).dump(Indent) + "\n"));
    value_ = std::move(next);
    return ok_status();
  }

 private:
  JsonDocumentStore(std::filesystem::path path, T value)
      : path_(std::move(path)), value_(std::move(value)) {}
  std::filesystem::path path_;
  mutable std::mutex mutex_;
  T value_;
};

}  // namespace cm
