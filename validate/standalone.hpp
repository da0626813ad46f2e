// Standalone validation: `chroma-validate --source URI --target URI` with no chroma-migrate run
// behind it (a migration made by another tool, `chroma copy`, a hand-written loader, an upgrade in
// place). The reference a run would have left is built first: what the source holds and what the
// target should hold (the source itself, or the source through `--mapping`).
//
// How: chroma-migrate (the binary beside this one) exports and transforms the source into a work
// directory, importing into a snapshot store there instead of a server. That is the migration's own
// code path with its memory bound, checkpoint and source checks, so "what the target should hold"
// means exactly what it means for a migration; validate/ may not link migrate/
// (cmake/layers.cmake), and the binaries already cooperate through a work directory. Then the eight
// tests run against the real target as for any run. The cost is disk: the export and, with a
// mapping, the transformed records are written under the work directory, and the snapshot target
// holds one more copy.
#pragma once

#include <filesystem>
#include <string>

#include "common/base/error.hpp"

namespace cm::validate {

struct StandaloneRequest {
  std::string source_uri;
  std::filesystem::path mapping;   // empty: identity (same collections, same records)
  std::filesystem::path contract;  // empty: none; else copied where a run keeps its contract
  // Empty: a new directory ./chroma-validate-XXXXXX, removed when the validation ends (see
  // StandaloneWorkDir); else kept, and a directory that already holds a run is refused.
  std::filesystem::path work_dir;
  bool verbose = false;
};

// The work directory of a standalone validation; removes a temporary one when destroyed (unless
// keep() was called: after a failure, so the operator can read its logs).
class StandaloneWorkDir {
 public:
  StandaloneWorkDir(std::filesystem::path dir, bool temporary)
      : dir_(std::move(dir)), temporary_(temporary) {}
  StandaloneWorkDir(StandaloneWorkDir&& other) noexcept;
  StandaloneWorkDir& operator=(StandaloneWorkDir&&) = delete;
  ~StandaloneWorkDir();
  const std::filesystem::path& path() const { return dir_; }
  bool temporary() const { return temporary_; }
  void keep() { temporary_ = false; }

 private:
  std::filesystem::path dir_;
  bool temporary_ = false;
};

// Builds the reference in the work directory: runs chroma-migrate from request.source_uri into a
// snapshot target (mapping applied), then places the contract where the validator reads a run's.
// Errors: kInvalidArgument for a work dir that already holds a run or a missing mapping/contract
// file; kInternal when chroma-migrate is not beside this binary; the child's failure as kIo with
// its exit code and the work dir (kept) to read its log.
Result<StandaloneWorkDir> build_reference(const StandaloneRequest& request);

}  // namespace cm::validate
