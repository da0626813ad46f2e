// Helpers shared by the mapping parse/load tests: a minimal valid mapping and one-change variants.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "contracts/mapping.hpp"

namespace cm::contracts::mapping_test {

using nlohmann::json;

inline json minimal() {
  return R"({"mapping_version": 1, "targets": {"kb_new": {}},
             "routes": [{"from": ["kb_old"], "to": "kb_new"}]})"_json;
}

// The error message of parsing `j` (origin "mapping.json"), failing the test when it parses.
inline std::string problem(const json& j) {
  auto r = parse_mapping(j, "mapping.json");
  if (r) {
    ADD_FAILURE() << "parsed: " << j.dump();
    return "";
  }
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

// minimal() with the value at a JSON pointer replaced (or added).
inline json with(const std::string& pointer, json value) {
  json j = minimal();
  j[json::json_pointer(pointer)] = std::move(value);
  return j;
}

inline json with_field(json rule) {
  return with("/fields", json::array({std::move(rule)}));
}

}  // namespace cm::contracts::mapping_test
