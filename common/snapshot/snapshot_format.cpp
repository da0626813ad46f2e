#include "common/snapshot/snapshot_format.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

#include "common/store/canonical.hpp"

static_assert(std::endian::native == std::endian::little,
              "part files store integers and float32 as little-endian; the host must match");

namespace cm {
namespace {

// Smallest possible record: empty id, null document, empty metadata length, dimension 0, digest
// (format 1); format 2 adds the record flags byte, the uri length and the note length.
constexpr std::size_t kMinRecordSizeV1 = 4 + 1 + 4 + 4 + 4 + 8;
constexpr std::size_t kMinRecordSize = kMinRecordSizeV1 + 1 + 4 + 4;

constexpr std::uint8_t kFlagUri = 1;
constexpr std::uint8_t kFlagTombstone = 2;
constexpr std::uint8_t kFlagUnrecoverable = 4;
constexpr std::uint8_t kKnownFlags = kFlagUri | kFlagTombstone | kFlagUnrecoverable;

template <typename T>
void put(std::string* out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out->append(buf, sizeof(T));
}

void put_bytes(std::string* out, std::string_view bytes) {
  put(out, static_cast<std::uint32_t>(bytes.size()));
  out->append(bytes);
}

std::string shorten(std::string_view id) {
  constexpr std::size_t kMax = 64;
  return id.size() <= kMax ? std::string(id) : std::string(id.substr(0, kMax)) + "...";
}

// A bounds-checked cursor. Every failure names the record being read and the byte offset.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  std::size_t pos() const { return pos_; }
  std::size_t left() const { return bytes_.size() - pos_; }
  void set_record(std::uint32_t index) {
    record_ = index;
    id_.clear();
  }
  void set_id(std::string_view id) { id_ = shorten(id); }

  std::unexpected<Error> fail(const std::string& what) const {
    std::string where = "part ";
    if (record_) {
      where += "record " + std::to_string(*record_);
      if (!id_.empty()) where += " (id \"" + id_ + "\")";
      where += " ";
    }
    where += "at offset " + std::to_string(pos_);
    return make_error(ErrorCode::kCorruption, where + ": " + what);
  }

  template <typename T>
  Result<T> get(const char* field) {
    if (left() < sizeof(T)) {
      return fail(std::string("truncated ") + field + " (needs " + std::to_string(sizeof(T)) +
                  " bytes, " + std::to_string(left()) + " left)");
    }
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<std::string_view> take(std::uint64_t size, const char* field) {
    if (left() < size) {
      return fail(std::string("truncated ") + field + " (needs " + std::to_string(size) +
                  " bytes, " + std::to_string(left()) + " left)");
    }
    auto out = bytes_.substr(pos_, static_cast<std::size_t>(size));
    pos_ += static_cast<std::size_t>(size);
    return out;
  }

  Result<std::string_view> sized(const char* field) {
    CM_ASSIGN_OR_RETURN(auto size, get<std::uint32_t>(field));
    return take(size, field);
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::optional<std::uint32_t> record_;
  std::string id_;
};

// `whole_part`: the reader holds the whole file, so the record count can be checked against it.
Result<PartHeader> read_header(Reader& in, bool whole_part) {
  CM_ASSIGN_OR_RETURN(auto magic, in.take(kPartMagic.size(), "magic"));
  if (magic != kPartMagic) return in.fail("bad magic (not a snapshot part file)");
  PartHeader h;
  CM_ASSIGN_OR_RETURN(h.format_version, in.get<std::uint32_t>("format version"));
  if (h.format_version != kPartFormatVersion && h.format_version != kPartFormatVersionV1) {
    return in.fail("unsupported format version " + std::to_string(h.format_version));
  }
  CM_ASSIGN_OR_RETURN(h.record_count, in.get<std::uint32_t>("record count"));
  CM_ASSIGN_OR_RETURN(h.write_seq, in.get<std::uint64_t>("write sequence"));
  const std::size_t min_record =
      h.format_version == kPartFormatVersionV1 ? kMinRecordSizeV1 : kMinRecordSize;
  if (whole_part && h.record_count > in.left() / min_record) {
    return in.fail("record count " + std::to_string(h.record_count) + " cannot fit in " +
                   std::to_string(in.left()) + " bytes");
  }
  return h;
}

// The fields of one record as views into the part bytes.
struct RawRecord {
  std::string_view id;
  std::uint8_t flags = 0;  // format 2 only; 0 in format 1
  bool has_document = false;
  std::string_view document;
  std::string_view metadata;
  std::string_view embedding;  // dimension * 4 bytes
  std::string_view uri;        // format 2: meaningful when flags has kFlagUri
  std::string_view note;       // format 2: the unrecoverable reason
  std::uint64_t digest = 0;
};

Result<RawRecord> read_raw(Reader& in, std::uint32_t version) {
  RawRecord r;
  CM_ASSIGN_OR_RETURN(r.id, in.sized("id"));
  in.set_id(r.id);
  if (version >= 2) {
    CM_ASSIGN_OR_RETURN(r.flags, in.get<std::uint8_t>("record flags"));
    if ((r.flags & ~kKnownFlags) != 0) {
      return in.fail("record flags " + std::to_string(r.flags) + " set unknown bits");
    }
    if ((r.flags & kFlagTombstone) && (r.flags & kFlagUnrecoverable)) {
      return in.fail("a record is marked both deleted (tombstone) and unrecoverable");
    }
  }
  CM_ASSIGN_OR_RETURN(auto flag, in.get<std::uint8_t>("document flag"));
  if (flag > 1) return in.fail("document flag " + std::to_string(flag) + " is neither 0 nor 1");
  r.has_document = flag == 1;
  CM_ASSIGN_OR_RETURN(r.document, in.sized("document"));
  if (!r.has_document && !r.document.empty()) return in.fail("null document with a length");
  CM_ASSIGN_OR_RETURN(r.metadata, in.sized("metadata"));
  CM_ASSIGN_OR_RETURN(auto dimension, in.get<std::uint32_t>("dimension"));
  CM_ASSIGN_OR_RETURN(r.embedding, in.take(std::uint64_t{dimension} * sizeof(float), "embedding"));
  if (version >= 2) {
    CM_ASSIGN_OR_RETURN(r.uri, in.sized("uri"));
    if (!(r.flags & kFlagUri) && !r.uri.empty()) return in.fail("null uri with a length");
    CM_ASSIGN_OR_RETURN(r.note, in.sized("note"));
    if (!(r.flags & kFlagUnrecoverable) && !r.note.empty()) {
      return in.fail("a note on a record not marked unrecoverable");
    }
    if ((r.flags & kFlagTombstone) &&
        (r.has_document || r.metadata != "{}" || !r.embedding.empty() || (r.flags & kFlagUri))) {
      return in.fail("a tombstone carries content (it must hold only its id)");
    }
  }
  CM_ASSIGN_OR_RETURN(r.digest, in.get<std::uint64_t>("record digest"));
  return r;
}

RecordMark mark_of(const RawRecord& raw) {
  if (raw.flags & kFlagTombstone) return {RecordMark::Kind::kTombstone, {}};
  if (raw.flags & kFlagUnrecoverable)
    return {RecordMark::Kind::kUnrecoverable, std::string(raw.note)};
  return {};
}

Result<Metadata> parse_metadata(const Reader& in, std::string_view text) {
  try {
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return in.fail("metadata is not valid JSON");
    if (!json.is_object()) return in.fail("metadata is not a JSON object");
    std::string why;
    auto metadata = metadata_from_json(json, &why);
    if (!metadata) return in.fail("bad metadata: " + why);
    return std::move(*metadata);
  } catch (const nlohmann::json::exception& e) {
    return in.fail(std::string("bad metadata: ") + e.what());
  }
}

Status check_end(const Reader& in) {
  if (in.left() != 0) {
    return in.fail(std::to_string(in.left()) + " trailing bytes after the last record");
  }
  return ok_status();
}

}  // namespace

std::uint64_t part_record_digest(const Record& record, std::string_view canonical_metadata,
                                 const RecordMark& mark) {
  const std::uint64_t base = record_digest(record, canonical_metadata);
  if (mark.kind == RecordMark::Kind::kLive) return base;
  // Marked records: the mark and its note are covered too, so flipping a record between live,
  // deleted and unrecoverable is detected like any other change.
  std::string framed;
  put(&framed, base);
  put(&framed,
      static_cast<std::uint8_t>(mark.kind == RecordMark::Kind::kTombstone ? kFlagTombstone
                                                                          : kFlagUnrecoverable));
  put(&framed, static_cast<std::uint64_t>(mark.note.size()));
  framed.append(mark.note);
  return xxh3_64(framed);
}

std::string encode_part(std::span<const Record> records, std::uint64_t write_seq) {
  return encode_part(records, {}, write_seq);
}

std::string encode_part(std::span<const Record> records, std::span<const RecordMark> marks,
                        std::uint64_t write_seq) {
  static const RecordMark kLive;
  std::string out;
  std::size_t estimate = kPartHeaderSize;
  for (const auto& r : records) {
    estimate += kMinRecordSize + r.id.size() + (r.document ? r.document->size() : 0) +
                r.embedding.size() * sizeof(float) + 16 * r.metadata.size() +
                (r.uri ? r.uri->size() : 0);
  }
  out.reserve(estimate);
  out.append(kPartMagic);
  put(&out, kPartFormatVersion);
  put(&out, static_cast<std::uint32_t>(records.size()));
  put(&out, write_seq);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const RecordMark& mark = i < marks.size() ? marks[i] : kLive;
    const std::string metadata = canonical_metadata_json(r.metadata);
    put_bytes(&out, r.id);
    std::uint8_t flags = r.uri ? kFlagUri : 0;
    if (mark.kind == RecordMark::Kind::kTombstone) flags |= kFlagTombstone;
    if (mark.kind == RecordMark::Kind::kUnrecoverable) flags |= kFlagUnrecoverable;
    put(&out, flags);
    put(&out, static_cast<std::uint8_t>(r.document ? 1 : 0));
    put_bytes(&out, r.document ? std::string_view(*r.document) : std::string_view());
    put_bytes(&out, metadata);
    put(&out, static_cast<std::uint32_t>(r.embedding.size()));
    out.append(reinterpret_cast<const char*>(r.embedding.data()),
               r.embedding.size() * sizeof(float));
    put_bytes(&out, r.uri ? std::string_view(*r.uri) : std::string_view());
    put_bytes(&out, mark.kind == RecordMark::Kind::kUnrecoverable ? std::string_view(mark.note)
                                                                  : std::string_view());
    put(&out, part_record_digest(r, metadata, mark));
  }
  return out;
}

std::string reencode_part_without(DecodedPart& part,
                                  const std::function<bool(const Record&)>& drop) {
  std::vector<RecordMark> marks(part.records.size());
  for (auto& [index, mark] : part.marks) marks[index] = std::move(mark);
  std::vector<Record> kept_records;
  std::vector<std::uint64_t> kept_digests;
  std::vector<RecordMark> kept_marks;
  std::vector<std::pair<std::uint32_t, RecordMark>> kept_index;
  for (std::size_t i = 0; i < part.records.size(); ++i) {
    if (drop(part.records[i])) continue;
    if (marks[i].kind != RecordMark::Kind::kLive) {
      kept_index.emplace_back(static_cast<std::uint32_t>(kept_records.size()), marks[i]);
    }
    kept_records.push_back(std::move(part.records[i]));
    kept_digests.push_back(part.digests[i]);
    kept_marks.push_back(std::move(marks[i]));
  }
  part.records = std::move(kept_records);
  part.digests = std::move(kept_digests);
  part.marks = std::move(kept_index);
  part.header.record_count = static_cast<std::uint32_t>(part.records.size());
  return encode_part(part.records, kept_marks, part.header.write_seq);
}

Result<PartHeader> decode_part_header(std::string_view bytes) {
  Reader in(bytes.substr(0, std::min(bytes.size(), kPartHeaderSize)));
  return read_header(in, /*whole_part=*/false);
}

Result<DecodedPart> decode_part(std::string_view bytes) {
  Reader in(bytes);
  DecodedPart part;
  CM_ASSIGN_OR_RETURN(part.header, read_header(in, /*whole_part=*/true));
  part.records.reserve(part.header.record_count);
  part.digests.reserve(part.header.record_count);
  for (std::uint32_t i = 0; i < part.header.record_count; ++i) {
    in.set_record(i);
    CM_ASSIGN_OR_RETURN(auto raw, read_raw(in, part.header.format_version));
    Record record;
    record.id = std::string(raw.id);
    if (raw.has_document) record.document = std::string(raw.document);
    if (raw.flags & kFlagUri) record.uri = std::string(raw.uri);
    CM_ASSIGN_OR_RETURN(record.metadata, parse_metadata(in, raw.metadata));
    // The digest covers the stored JSON text; requiring it to be canonical makes that the same as
    // record_digest() of the decoded record, which other tools compute from live data.
    if (canonical_metadata_json(record.metadata) != raw.metadata) {
      return in.fail("metadata JSON is not in canonical form");
    }
    record.embedding.resize(raw.embedding.size() / sizeof(float));
    if (!raw.embedding.empty()) {
      std::memcpy(record.embedding.data(), raw.embedding.data(), raw.embedding.size());
    }
    RecordMark mark = mark_of(raw);
    const std::uint64_t computed = part_record_digest(record, raw.metadata, mark);
    if (computed != raw.digest) {
      return in.fail("record digest mismatch (stored " + hex64(raw.digest) + ", computed " +
                     hex64(computed) + ")");
    }
    part.records.push_back(std::move(record));
    part.digests.push_back(computed);
    if (mark.kind != RecordMark::Kind::kLive) part.marks.emplace_back(i, std::move(mark));
  }
  CM_RETURN_IF_ERROR(check_end(in));
  return part;
}

Result<PartIndex> decode_part_index(std::string_view bytes) {
  Reader in(bytes);
  PartIndex index;
  CM_ASSIGN_OR_RETURN(index.header, read_header(in, /*whole_part=*/true));
  index.ids.reserve(index.header.record_count);
  index.digests.reserve(index.header.record_count);
  for (std::uint32_t i = 0; i < index.header.record_count; ++i) {
    in.set_record(i);
    CM_ASSIGN_OR_RETURN(auto raw, read_raw(in, index.header.format_version));
    index.ids.emplace_back(raw.id);
    index.digests.push_back(raw.digest);
    if (raw.flags & kFlagTombstone) ++index.tombstones;
    if (raw.flags & kFlagUnrecoverable) ++index.unrecoverable;
  }
  CM_RETURN_IF_ERROR(check_end(in));
  return index;
}

Result<std::vector<Record>> decode_part_vectors(std::string_view bytes) {
  Reader in(bytes);
  CM_ASSIGN_OR_RETURN(auto header, read_header(in, /*whole_part=*/true));
  std::vector<Record> records(header.record_count);
  for (std::uint32_t i = 0; i < header.record_count; ++i) {
    in.set_record(i);
    CM_ASSIGN_OR_RETURN(auto raw, read_raw(in, header.format_version));
    records[i].id = std::string(raw.id);
    records[i].embedding.resize(raw.embedding.size() / sizeof(float));
    if (!raw.embedding.empty()) {
      std::memcpy(records[i].embedding.data(), raw.embedding.data(), raw.embedding.size());
    }
  }
  CM_RETURN_IF_ERROR(check_end(in));
  return records;
}

Result<std::vector<std::string>> decode_part_ids(std::string_view bytes) {
  CM_ASSIGN_OR_RETURN(auto index, decode_part_index(bytes));
  return std::move(index.ids);
}

}  // namespace cm
