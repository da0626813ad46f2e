#include "common/store/uri.hpp"

#include <vector>

namespace cm {
namespace {

std::unexpected<Error> bad_uri(std::string_view text, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument,
                    "invalid store URI '" + std::string(text) + "': " + why +
                        " (expected http://host:port[?tenant=T&database=D], snapshot:PATH or "
                        "persist:DIR[?tenant=T&database=D])");
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Decodes %XX escapes in query values; returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (in[i] == '+') {
      out->push_back(' ');
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

// tenant=T&database=D (both optional, %-escapes decoded) into `uri`.
Status parse_query(std::string_view text, std::string_view query, StoreUri* uri) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      return bad_uri(text, "query parameter '" + std::string(pair) + "' has no value");
    std::string key(pair.substr(0, eq)), value;
    if (!percent_decode(pair.substr(eq + 1), &value))
      return bad_uri(text, "bad %-escape in '" + key + "'");
    if (value.empty()) return bad_uri(text, "query parameter '" + key + "' is empty");
    if (key == "tenant") {
      uri->tenant = value;
    } else if (key == "database") {
      uri->database = value;
    } else {
      return bad_uri(text, "unknown query parameter '" + key + "' (known: tenant, database)");
    }
  }
  return ok_status();
}

Result<StoreUri> parse_http(std::string_view text) {
  StoreUri uri;
  uri.kind = StoreUri::Kind::kHttp;
  std::string_view rest = text;
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.find('#') != std::string_view::npos) return bad_uri(text, "fragments are not supported");
  auto scheme_end = rest.find("://");
  auto authority_start = scheme_end + 3;
  auto path_start = rest.find('/', authority_start);
  std::string_view authority = rest.substr(authority_start, path_start == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : path_start - authority_start);
  std::string_view host_port = authority.substr(
      authority.rfind('@') == std::string_view::npos ? 0 : authority.rfind('@') + 1);
  if (host_port.empty() || host_port.front() == ':') return bad_uri(text, "the host is missing");
  if (auto colon = host_port.rfind(':');
      colon != std::string_view::npos && host_port.back() != ']') {
    std::string_view port = host_port.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      return bad_uri(text, "the port must be a number from 1 to 65535");
    }
  }
  std::string base(rest);
  while (!base.empty() && base.back() == '/') base.pop_back();
  uri.base_url = base;
  CM_RETURN_IF_ERROR(parse_query(text, query, &uri));
  return uri;
}

// persist:DIR[?tenant=T&database=D]. A '?' in a directory name cannot be given (none of Chroma's
// own paths has one).
Result<StoreUri> parse_persist(std::string_view text) {
  StoreUri uri;
  uri.kind = StoreUri::Kind::kPersist;
  std::string_view path = text.substr(8);
  std::string_view query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (path.empty()) return bad_uri(text, "the persist directory is empty");
  CM_RETURN_IF_ERROR(parse_query(text, query, &uri));
  uri.persist_dir = std::filesystem::path(path);
  return uri;
}

}  // namespace

Result<StoreUri> parse_store_uri(std::string_view text) {
  if (text.empty()) return bad_uri(text, "it is empty");
  if (starts_with(text, "http://") || starts_with(text, "https://")) return parse_http(text);
  if (starts_with(text, "persist:")) return parse_persist(text);
  StoreUri uri;
  uri.kind = StoreUri::Kind::kSnapshot;
  std::string_view path = text;
  if (starts_with(text, "snapshot:")) {
    path = text.substr(9);
  } else if (starts_with(text, "file://")) {
    path = text.substr(7);
  } else if (text.find("://") != std::string_view::npos) {
    return bad_uri(text, "unsupported scheme");
  }
  if (path.empty()) return bad_uri(text, "the snapshot path is empty");
  uri.snapshot_dir = std::filesystem::path(path);
  return uri;
}

std::string StoreUri::redacted() const {
  if (kind == Kind::kSnapshot) return "snapshot:" + snapshot_dir.string();
  const std::string namespace_query = tenant != "default_tenant" || database != "default_database"
                                          ? "?tenant=" + tenant + "&database=" + database
                                          : "";
  if (kind == Kind::kPersist) return "persist:" + persist_dir.string() + namespace_query;
  std::string out = base_url;
  auto scheme_end = out.find("://");
  auto at = out.find('@', scheme_end + 3);
  auto slash = out.find('/', scheme_end + 3);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    out.replace(scheme_end + 3, at - (scheme_end + 3), "***");
  }
  return out + namespace_query;
}

Result<StoreUri> recorded_store_uri(const std::string& given, const std::string& recorded,
                                    const std::string& flag) {
  std::string text = given;
  if (text.empty()) {
    if (recorded.find("***") != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "run.json names the store only redacted (" +
                                                         recorded + "): pass " + flag +
                                                         " with the full URI");
    }
    text = recorded;
    if (text.starts_with("snapshot ")) text = "snapshot:" + text.substr(9);  // describe() form
  }
  auto uri = parse_store_uri(text);
  if (!uri) return std::unexpected(std::move(uri).error().with_context(flag));
  return uri;
}

}  // namespace cm
