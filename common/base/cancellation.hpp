// Cooperative stop on SIGINT/SIGTERM: workers finish the batch in flight, the checkpoint records
// it, and the run exits with kExitInterrupted so --resume continues cleanly.
#pragma once

namespace cm {

void install_stop_signal_handlers();
bool stop_requested();
void request_stop();  // for tests and internal fatal paths

}  // namespace cm
