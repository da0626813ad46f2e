// The mapped transform: export snapshot -> contracts::transform_record -> snapshots/transformed.
// Per source collection the checkpoint details (and transform_report.json) hold
//   routed: {target: records}, routes: {target: {route: records}},
//   skipped_unmatched, skipped_cast_failure, skipped_samples: [{id, reason}] (at most 20).
// One batch per export part, checkpointed; per-route and skip counts are added to the checkpoint
// in the same update that marks the batch done, so a resumed run counts every record once.
#pragma once

#include "migrate/phase_context.hpp"

namespace cm::migrate {

Status mapped_transform(PhaseContext& ctx);

}  // namespace cm::migrate
