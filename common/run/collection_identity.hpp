// Destructive steps that prove what they act on. Chroma deletes a collection by NAME only (DELETE
// /collections/{name}); its id is what a run backed up or created. A delete by name alone can hit
// a collection someone created under that name after the run looked (after a crash, or between a
// check and the delete). So every collection a run drops goes through delete_collection_pinned():
//   1. the caller journals the quarantine name in run.json before calling;
//   2. the collection is renamed BY ID to that name (rename takes the id: only the pinned
//      collection can move there), idempotently across a crash (collection_rename.hpp);
//   3. under that name its id, and when expected, its count and content digest are checked again;
//   4. only then is the quarantine name deleted.
// What remains: Chroma writes by collection id, so a client holding the id can still write into
// the collection between the last check (3) and the delete (4): those writes are lost. The window
// is one content read long. And a collection someone else creates under the quarantine name
// itself in that window would be deleted (the name holds the run id, so nobody does by accident).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/store/vector_store.hpp"

namespace cm {

// What a collection holds, compared with a snapshot manifest's record_count / content_digest.
struct CollectionContent {
  std::uint64_t count = 0;
  std::string digest;  // content_digest() of the record digests (common/store/canonical.hpp)

  bool operator==(const CollectionContent&) const = default;
};

// Reads every record of `collection` (ids paged, data by id) and digests it. Memory: one 8-byte
// digest per record. A collection written during the read gives a digest that matches nothing.
Result<CollectionContent> read_collection_content(VectorStore& store,
                                                  const CollectionInfo& collection,
                                                  std::size_t batch_size);

// "<name>.quarantine-<run id>": where a collection waits, renamed by id, for its delete.
std::string quarantine_name_for(const std::string& name, const std::string& run_id);

// "count 10 (backup 10), content digest ab.. (backup cd..)": what differs, for messages.
std::string describe_content_difference(const CollectionContent& live,
                                        const CollectionContent& expected);

struct PinnedDelete {
  std::string collection_id;  // the id the run backed up / retained / created
  std::string name;           // where it is expected now (may be gone after a crash)
  std::string quarantine;     // journalled by the caller before the call
  // When set: the collection must still hold exactly this, or nothing is deleted.
  std::optional<CollectionContent> expected;
  std::size_t batch_size = 1000;
};

// Renames the pinned collection to its quarantine name, checks it again there, deletes it.
// Resumable: a collection already under the quarantine name is checked and deleted; when neither
// name holds it, it was deleted before a crash and nothing is done. Fails with kAlreadyExists
// (exit 9), naming the collection and what differs, when the id or the content is not the
// expected one; the collection is then renamed back to `name` when that name is free, so nothing
// is deleted and nothing is left stranded.
Status delete_collection_pinned(VectorStore& store, const PinnedDelete& pin);

}  // namespace cm
