// The phase a run's checkpoint.json records, as text ("export", ..., "complete"), for what may
// not use checkpoints/ (ARCHITECTURE.md: validate/ and common/run/ sit beside it, not above it)
// and only shows or compares the phase: "unknown" when the file is missing or unreadable.
#pragma once

#include <string>

#include "common/run/work_dir.hpp"

namespace cm {

std::string recorded_phase(const WorkDir& work);

}  // namespace cm
