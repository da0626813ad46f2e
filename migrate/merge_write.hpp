// The write that leaves each record exactly as given in a collection that may already hold
// versions of it: Chroma's upsert merges metadata keys and keeps a document or uri the new
// version lacks, so a plain upsert over an existing record is not a replacement. Used by the
// import for merged collections and by --sync for every change.
#pragma once

#include <span>

#include "common/store/vector_store.hpp"

namespace cm::migrate {

// Upserts `chunk` into `collection`, then removes the metadata keys the old versions had and the
// new ones lack, and rewrites whole (delete, then upsert) the records whose new version has no
// document or uri where the old one had one. No pre-existing record is removed before its
// replacement was acknowledged once; a refused upsert leaves every record as it was.
Status merge_chunk(VectorStore& target, const CollectionInfo& collection,
                   std::span<const Record> chunk);

}  // namespace cm::migrate
