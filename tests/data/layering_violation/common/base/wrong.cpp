// Fixture: a base-layer file that includes a higher layer; layering_detects_a_violation must fail.
#include "common/run/work_dir.hpp"
