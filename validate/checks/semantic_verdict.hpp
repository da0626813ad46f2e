// The semantic-search test's verdict, from its per-collection evaluations: the figures of the
// report (overall and per collection), the findings and the status, as semantic_search.cpp's
// header states the rules.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "validate/check.hpp"
#include "validate/semantic/collection_eval.hpp"

namespace cm::validate {

// Fills result.figures, findings, samples, status and rollback_reason (the caller has set
// result.thresholds and any findings before `unresolved` of them: those stay first).
void judge_semantic(const ValidationContext& ctx,
                    const std::vector<CollectionEvaluation>& evaluations, std::size_t unresolved,
                    std::size_t file_queries, CheckResult& result);

// How the test prints recalls and thresholds ("%.3g").
std::string semantic_number(double v);

}  // namespace cm::validate
