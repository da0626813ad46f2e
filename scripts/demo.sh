#!/usr/bin/env bash
# The main job end to end on a fresh machine: install what is missing, build, start two throw-away
# Chroma servers, seed the source with a realistic corpus (20,000 chunks, 4 collections, cosine/l2/ip,
# mixed metadata types), run the cutover migration and show where everything is.
#   DEMO_RECORDS=N   corpus size (default 20000)
#   DEMO_DIR=DIR     where servers, work dir and logs go (default demo-work/<UTC stamp>)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

demo="${DEMO_DIR:-$root/demo-work/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$demo"
stop_servers() {
  "$root/scripts/chroma-server.sh" stop "$demo/source-server" || true
  "$root/scripts/chroma-server.sh" stop "$demo/target-server" || true
}
trap stop_servers EXIT

source_url="$("$root/scripts/chroma-server.sh" start "$demo/source-server")"
target_url="$("$root/scripts/chroma-server.sh" start "$demo/target-server")"
echo "demo: source Chroma at $source_url, target Chroma at $target_url"

"$root/build/bin/chroma-seed" --target "$source_url" --records "${DEMO_RECORDS:-20000}"

# The cutover: the old flat schema into the 12-field v2 schema across four new collections, checked
# against the v2 contract. First a dry run (nothing is written to the target), then the real run
# resumes from it (the export and transform are not repeated).
migrate=("$root/build/bin/chroma-migrate" --source "$source_url" --target "$target_url" --work-dir "$demo/work"
         --mapping "$root/contracts/examples/flat_to_v2.mapping.json"
         --contract "$root/contracts/examples/v2.contract.json" --workers 2)
"${migrate[@]}" --dry-run
"${migrate[@]}" --resume

cat <<MSG

demo: migration complete.
  work dir:      $demo/work
  run manifest:  $demo/work/run.json
  summary:       $demo/work/migration_summary.json
  plan (dry run): $demo/work/plan.md
  snapshots:     $demo/work/snapshots/source (export), $demo/work/snapshots/transformed (what was imported)
  transform:     $demo/work/transform_report.json
  audit log:     $demo/work/audit.jsonl
  log:           $(ls "$demo"/work/logs/*.log)
  server data:   $demo/source-server, $demo/target-server (servers stopped on exit)
MSG
