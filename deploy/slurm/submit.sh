#!/usr/bin/env bash
# Submits a sharded chroma-migrate run to Slurm (README: "Sharded runs"): the array of SHARDS tasks
# (chroma-migrate-array.sbatch, one shard each) and, when IF_EXISTS is set (merge or replace: the
# run writes into live target collections), first the prepare as one job
# (chroma-migrate-prepare.sbatch), with the array depending on it (--dependency=afterok: the
# shards start only once the prepare succeeded; a failed prepare leaves the array pending with
# reason DependencyNeverSatisfied: scancel it, fix, submit again).
#
#   SOURCE=http://old:8000 TARGET=http://new:8000 RUN_ID=m20260101 SHARDS=8 \
#   WORK_ROOT=/shared/chroma-migrate/m20260101 [IF_EXISTS=replace] \
#     deploy/slurm/submit.sh [more chroma-migrate flags, e.g. --stage or --mapping F]
#
# The extra flags go to the prepare and to every shard alike (they must agree). Prints the job ids.
set -euo pipefail
: "${SOURCE:?set SOURCE to the source store URI}"
: "${TARGET:?set TARGET to the target store URI}"
: "${RUN_ID:?set RUN_ID: every shard of the run must share it}"
: "${SHARDS:?set SHARDS to the number of shards}"
: "${WORK_ROOT:?set WORK_ROOT to a directory on a file system every node mounts}"
IF_EXISTS="${IF_EXISTS:-}"
export SOURCE TARGET RUN_ID SHARDS WORK_ROOT IF_EXISTS
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dependency=()
if [[ -n "$IF_EXISTS" ]]; then
  prepare_id="$(sbatch --parsable --export=ALL "$here/chroma-migrate-prepare.sbatch" "$@")"
  prepare_id="${prepare_id%%;*}" # --parsable prints "<job id>[;<cluster>]"
  echo "prepare job: $prepare_id"
  dependency=(--dependency="afterok:$prepare_id")
fi
array_id="$(sbatch --parsable "${dependency[@]}" --array="0-$((SHARDS - 1))" --export=ALL \
  "$here/chroma-migrate-array.sbatch" "$@")"
echo "array job: ${array_id%%;*}"
