// The mapped transform: export snapshot -> contracts::transform_record -> snapshots/transformed.
// One batch per export part, checkpointed; per-route and skip counts are added to the checkpoint
// in the same update that marks the batch done, so a resumed run counts every record once.
#pragma once

#include "migrate/phase_context.hpp"

namespace cm::migrate {

Status mapped_transform(PhaseContext& ctx);

}  // namespace cm::migrate
