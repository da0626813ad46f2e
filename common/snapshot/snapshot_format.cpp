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

// Smallest possible record: empty id, null document, empty metadata length, dimension 0, digest.
constexpr std::size_t kMinRecordSize = 4 + 1 + 4 + 4 + 4 + 8;

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
  if (h.format_version != kPartFormatVersion) {
    return in.fail("unsupported format version " + std::to_string(h.format_version));
  }
  CM_ASSIGN_OR_RETURN(h.record_count, in.get<std::uint32_t>("record count"));
  CM_ASSIGN_OR_RETURN(h.write_seq, in.get<std::uint64_t>("write sequence"));
  if (whole_part && h.record_count > in.left() / kMinRecordSize) {
    return in.fail("record count " + std::to_string(h.record_count) + " cannot fit in " +
                   std::to_string(in.left()) + " bytes");
  }
  return h;
}

// The fields of one record as views into the part bytes.
struct RawRecord {
  std::string_view id;
  bool has_document = false;
  std::string_view document;
  std::string_view metadata;
  std::string_view embedding;  // dimension * 4 bytes
  std::uint64_t digest = 0;
};

Result<RawRecord> read_raw(Reader& in) {
  RawRecord r;
  CM_ASSIGN_OR_RETURN(r.id, in.sized("id"));
  in.set_id(r.id);
  CM_ASSIGN_OR_RETURN(auto flag, in.get<std::uint8_t>("document flag"));
  if (flag > 1) return in.fail("document flag " + std::to_string(flag) + " is neither 0 nor 1");
  r.has_document = flag == 1;
  CM_ASSIGN_OR_RETURN(r.document, in.sized("document"));
  if (!r.has_document && !r.document.empty()) return in.fail("null document with a length");
  CM_ASSIGN_OR_RETURN(r.metadata, in.sized("metadata"));
  CM_ASSIGN_OR_RETURN(auto dimension, in.get<std::uint32_t>("dimension"));
  CM_ASSIGN_OR_RETURN(r.embedding, in.take(std::uint64_t{dimension} * sizeof(float), "embedding"));
  CM_ASSIGN_OR_RETURN(r.digest, in.get<std::uint64_t>("record digest"));
  return r;
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

std::string encode_part(std::span<const Record> records, std::uint64_t write_seq) {
  std::string out;
  std::size_t estimate = kPartHeaderSize;
  for (const auto& r : records) {
    estimate += kMinRecordSize + r.id.size() + (r.document ? r.document->size() : 0) +
                r.embedding.size() * sizeof(float) + 16 * r.metadata.size();
  }
  out.reserve(estimate);
  out.append(kPartMagic);
  put(&out, kPartFormatVersion);
  put(&out, static_cast<std::uint32_t>(records.size()));
  put(&out, write_seq);
  for (const auto& r : records) {
    const std::string metadata = canonical_metadata_json(r.metadata);
    put_bytes(&out, r.id);
    put(&out, static_cast<std::uint8_t>(r.document ? 1 : 0));
    put_bytes(&out, r.document ? std::string_view(*r.document) : std::string_view());
    put_bytes(&out, metadata);
    put(&out, static_cast<std::uint32_t>(r.embedding.size()));
    out.append(reinterpret_cast<const char*>(r.embedding.data()),
               r.embedding.size() * sizeof(float));
    put(&out, record_digest(r, metadata));
  }
  return out;
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
    CM_ASSIGN_OR_RETURN(auto raw, read_raw(in));
    Record record;
    record.id = std::string(raw.id);
    if (raw.has_document) record.document = std::string(raw.document);
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
    const std::uint64_t computed = record_digest(record, raw.metadata);
    if (computed != raw.digest) {
      return in.fail("record digest mismatch (stored " + hex64(raw.digest) + ", computed " +
                     hex64(computed) + ")");
    }
    part.records.push_back(std::move(record));
    part.digests.push_back(computed);
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
    CM_ASSIGN_OR_RETURN(auto raw, read_raw(in));
    index.ids.emplace_back(raw.id);
    index.digests.push_back(raw.digest);
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
    CM_ASSIGN_OR_RETURN(auto raw, read_raw(in));
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
