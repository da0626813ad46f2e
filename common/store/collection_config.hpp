// Comparing a collection's configuration (Chroma's configuration_json: hnsw, spann,
// embedding_function, and keys this suite does not know) as planned with what a store reports.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cm {

// One line per top-level key that differs, e.g.
//   embedding_function: planned {"name":"openai",...}, found null
// Rules: a key absent on one side equals null there (Chroma 1.x answers "spann": null and
// "embedding_function": null for collections created without them); 0.x's internal "_type" and
// "hnsw_configuration" are ignored (their parameters are carried as "hnsw"); "hnsw" is compared
// per key, a key absent on one side taking Chroma's default (l2/100/100/16/1.2/1000), so a
// planned {"space":"cosine"} equals the server's filled-in object. Everything else is compared
// verbatim (JSON equality: 1 == 1.0, object key order irrelevant). Non-objects count as {}.
std::vector<std::string> configuration_differences(const nlohmann::json& planned,
                                                   const nlohmann::json& actual);

}  // namespace cm
