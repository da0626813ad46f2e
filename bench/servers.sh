# Sourced by the bench scripts: installs what is missing, builds, and starts two throw-away Chroma
# servers (S = source URL, T = target URL) under $dir, stopped when the script exits.
"$root/scripts/install-deps.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
bin="$root/build/bin"
mkdir -p "$dir"
trap '"$root/scripts/chroma-server.sh" stop "$dir/src"; "$root/scripts/chroma-server.sh" stop "$dir/dst"' EXIT
S="$("$root/scripts/chroma-server.sh" start "$dir/src")"
T="$("$root/scripts/chroma-server.sh" start "$dir/dst")"
