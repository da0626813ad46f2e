// Everything a chroma-migrate invocation was asked to do, after flag parsing.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/store_decorators.hpp"
#include "common/uri.hpp"

namespace cm::migrate {

struct MigrateOptions {
  StoreUri source;
  StoreUri target;
  std::filesystem::path work_dir;
  std::vector<std::string> collections;  // empty: every collection of the source
  std::size_t batch_size = 1000;         // clamped to both stores' max_batch_size
  std::size_t workers = 2;               // requests in flight
  bool resume = false;
  std::string run_id;                    // generated when empty
  std::optional<std::string> token;      // CHROMA_TOKEN
  RetryPolicy retry;
  std::string fault_spec;                // CHROMA_MIGRATE_FAULTS (tests only)
  bool verbose = false;
  bool quiet = false;
};

}  // namespace cm::migrate
