// Whether a record read back from a store is the one that was written: document, uri and metadata
// equal, and the embedding equivalent under the collection's space (embedding_compare.hpp: a
// cosine collection's round trip may move a component by a rounding step). Used wherever the
// suite must prove a target record is still what it wrote before it overwrites, deletes or
// restores it (sync, rollback).
#pragma once

#include <string>

#include "common/store/record.hpp"

namespace cm {

bool same_content(const std::string& space, const Record& a, const Record& b);

}  // namespace cm
