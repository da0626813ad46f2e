// verify_snapshot: checks a sealed snapshot directory against its manifest and reports every
// problem it finds, so one run tells the operator everything that is wrong.
#include <algorithm>
#include <set>
#include <unordered_set>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_format.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"

namespace cm {
namespace fs = std::filesystem;

namespace {

// Per-collection cap on repetitive problems (duplicate ids, wrong dimensions) so a badly damaged
// collection does not produce millions of lines; the last entry says how many were left out.
constexpr std::uint64_t kMaxRepeatedProblems = 20;

class Verifier {
 public:
  explicit Verifier(fs::path dir) : dir_(std::move(dir)) {}

  void add(const std::string& collection, const std::string& file, std::string message) {
    report_.problems.push_back({collection, file, std::move(message)});
  }

  void collection(const ManifestCollection& mc);
  void unlisted(const SnapshotManifest& manifest);
  VerifyReport take() { return std::move(report_); }

 private:
  std::string rel(const std::string& name, const std::string& file = "") const {
    std::string out = "collections/" + name;
    return file.empty() ? out : out + "/" + file;
  }
  void collection_json(const ManifestCollection& mc);
  // Returns false when the part could not be decoded (so collection totals cannot be checked).
  bool part(const ManifestCollection& mc, const ManifestPart& listed, IdHashSet* seen,
            std::vector<std::uint64_t>* digests, std::uint64_t* repeated);

  fs::path dir_;
  VerifyReport report_;
  std::uint64_t tombstones_ = 0, unrecoverable_ = 0;  // marks counted in the current collection
};

void Verifier::collection_json(const ManifestCollection& mc) {
  const std::string file = rel(mc.info.name, "collection.json");
  auto text = read_file(dir_ / file);
  if (!text) return add(mc.info.name, file, text.error().message);
  auto info = parse_collection_info(*text);
  if (!info) return add(mc.info.name, file, info.error().message);
  if (info->name != mc.info.name || info->id != mc.info.id ||
      info->dimension != mc.info.dimension) {
    add(mc.info.name, file, "name, id or dimension differs from the manifest");
  }
}

bool Verifier::part(const ManifestCollection& mc, const ManifestPart& listed, IdHashSet* seen,
                    std::vector<std::uint64_t>* digests, std::uint64_t* repeated) {
  const std::string& name = mc.info.name;
  const std::string file = rel(name, listed.file);
  if (!snapshot::is_part_file_name(listed.file)) {
    add(name, file, "manifest lists a file that is not named like a part");
    return false;
  }
  auto bytes = read_file(dir_ / file);
  if (!bytes) {
    add(name, file,
        bytes.error().code == ErrorCode::kNotFound ? "part file is missing"
                                                   : bytes.error().message);
    return false;
  }
  ++report_.parts_checked;
  if (bytes->size() != listed.bytes) {
    add(name, file,
        "size " + std::to_string(bytes->size()) + " bytes, manifest says " +
            std::to_string(listed.bytes));
  }
  if (const std::string actual = xxh3_64_hex(*bytes); actual != listed.xxh3_64) {
    add(name, file, "xxh3_64 " + actual + ", manifest says " + listed.xxh3_64);
  }
  auto decoded = decode_part(*bytes);
  if (!decoded) {
    add(name, file, decoded.error().message);
    return false;
  }
  if (decoded->records.size() != listed.records) {
    add(name, file,
        "holds " + std::to_string(decoded->records.size()) + " records, manifest says " +
            std::to_string(listed.records));
  }
  std::vector<bool> tombstone(decoded->records.size(), false);  // holds only its id
  for (const auto& [index, mark] : decoded->marks)
    tombstone[index] = mark.kind == RecordMark::Kind::kTombstone;
  for (std::size_t i = 0; i < decoded->records.size(); ++i) {
    const Record& r = decoded->records[i];
    std::string problem;
    if (mc.info.dimension && !tombstone[i] &&
        r.embedding.size() != static_cast<std::size_t>(*mc.info.dimension)) {
      problem = "record \"" + r.id + "\" has dimension " + std::to_string(r.embedding.size()) +
                ", the collection " + std::to_string(*mc.info.dimension);
    } else if (!seen->insert(id_hash(r.id))) {
      problem = "id \"" + r.id + "\" occurs in more than one record";
    }
    if (!problem.empty() && ++*repeated <= kMaxRepeatedProblems) add(name, file, problem);
  }
  for (const auto& [index, mark] : decoded->marks) {
    ++(mark.kind == RecordMark::Kind::kTombstone ? tombstones_ : unrecoverable_);
  }
  report_.records_checked += decoded->records.size();
  digests->insert(digests->end(), decoded->digests.begin(), decoded->digests.end());
  return true;
}

void Verifier::collection(const ManifestCollection& mc) {
  const std::string& name = mc.info.name;
  ++report_.collections_checked;
  const fs::path folder = snapshot::collection_dir(dir_, name);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return add(name, rel(name), "collection folder is missing");
  collection_json(mc);

  std::set<std::string> listed;
  for (const auto& p : mc.parts) {
    if (!listed.insert(p.file).second) add(name, rel(name, p.file), "listed twice in the manifest");
  }
  if (auto actual = snapshot::list_part_files(folder); !actual) {
    add(name, rel(name), actual.error().message);
  } else {
    for (const auto& file : *actual) {
      if (!listed.contains(file))
        add(name, rel(name, file), "part file not listed in the manifest");
    }
  }

  IdHashSet seen;
  std::vector<std::uint64_t> digests;
  std::uint64_t repeated = 0, listed_records = 0;
  bool complete = true;
  tombstones_ = unrecoverable_ = 0;
  for (const auto& p : mc.parts) {
    complete = part(mc, p, &seen, &digests, &repeated) && complete;
    listed_records += p.records;
  }
  if (repeated > kMaxRepeatedProblems) {
    add(name, rel(name),
        std::to_string(repeated - kMaxRepeatedProblems) + " more record problems not listed");
  }
  // With a part unreadable, totals over the files would only restate that problem; check the
  // manifest's own arithmetic instead.
  const std::uint64_t total = complete ? digests.size() : listed_records;
  if (total != mc.record_count) {
    add(name, rel(name),
        "manifest record_count " + std::to_string(mc.record_count) + ", but the " +
            (complete ? "parts hold " : "listed parts add up to ") + std::to_string(total));
  }
  if (complete && (tombstones_ != mc.tombstones || unrecoverable_ != mc.unrecoverable)) {
    add(name, rel(name),
        "the parts hold " + std::to_string(tombstones_) + " tombstones and " +
            std::to_string(unrecoverable_) + " unrecoverable records, the manifest says " +
            std::to_string(mc.tombstones) + " and " + std::to_string(mc.unrecoverable));
  }
  if (complete) {
    if (const std::string actual = content_digest(std::move(digests));
        actual != mc.content_digest) {
      add(name, rel(name), "content_digest " + actual + ", manifest says " + mc.content_digest);
    }
  }
}

void Verifier::unlisted(const SnapshotManifest& manifest) {
  auto names = snapshot::list_collection_dirs(dir_);
  if (!names) return add("", "collections", names.error().message);
  for (const auto& name : *names) {
    if (!manifest.find(name)) add(name, rel(name), "collection folder not listed in the manifest");
  }
}

}  // namespace

Result<VerifyReport> verify_snapshot(const fs::path& dir) {
  auto text = read_file(snapshot::manifest_path(dir));
  if (!text) {
    if (text.error().code != ErrorCode::kNotFound) return std::unexpected(text.error());
    return make_error(ErrorCode::kInvalidArgument,
                      dir.string() + " is not a sealed snapshot (no manifest.json)");
  }
  Verifier verifier(dir);
  auto manifest = parse_manifest(*text);
  if (!manifest) {
    verifier.add("", "manifest.json", manifest.error().message);
    return verifier.take();
  }
  std::set<std::string> names;
  for (const auto& mc : manifest->collections) {
    if (!names.insert(mc.info.name).second) {
      verifier.add(mc.info.name, "manifest.json", "collection listed twice");
      continue;
    }
    if (auto why = snapshot::unsafe_collection_name_reason(mc.info.name)) {
      verifier.add(mc.info.name, "manifest.json", *why);
      continue;
    }
    verifier.collection(mc);
  }
  verifier.unlisted(*manifest);
  return verifier.take();
}

}  // namespace cm
