#!/usr/bin/env bash
# Throw-away Chroma servers for the demo and benchmarks.
#   chroma-server.sh start DIR   -> starts a server on a free loopback port with data in DIR/data,
#                                   waits until its heartbeat answers, prints its URL
#   chroma-server.sh stop DIR    -> stops the server started for DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chroma="${CHROMA_SERVER_BIN:-$here/chroma/node_modules/.bin/chroma}"
cmd="${1:?usage: chroma-server.sh start|stop DIR}"
dir="${2:?usage: chroma-server.sh start|stop DIR}"

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    port="$(free_port)"
    setsid "$chroma" run --path "$dir/data" --port "$port" --host 127.0.0.1 >"$dir/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/server.pid"
    echo "$port" >"$dir/server.port"
    # Readiness: the heartbeat answers (bounded to 60 s), or the process died.
    for _ in $(seq 1 600); do
      if curl -sf "http://127.0.0.1:$port/api/v2/heartbeat" >/dev/null 2>&1; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      kill -0 "$pid" 2>/dev/null || { echo "chroma exited; see $dir/server.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "chroma did not become ready in 60 s; see $dir/server.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
    ;;
  stop)
    [ -f "$dir/server.pid" ] || exit 0
    pid="$(cat "$dir/server.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/server.pid"
    ;;
  *) echo "usage: chroma-server.sh start|stop DIR" >&2; exit 2 ;;
esac
