#!/usr/bin/env bash
# Installs whatever is missing to build, test and demo the suite: Debian packages (apt) and the
# pinned Chroma server (npm, scripts/chroma/package.json). Idempotent: a second run does nothing.
# libmstch-dev: the HTML report pages' templates. chromium is not needed to build: the page
# screenshot test (tests/unit/html_screenshot_test.cpp) renders a page with it and skips without it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

packages=(build-essential cmake pkg-config nlohmann-json3-dev libsimdjson-dev libeigen3-dev
          libhnswlib-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libcurl4-openssl-dev
          libcli11-dev libsqlite3-dev libxxhash-dev libarchive-dev libmstch-dev curl time
          chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

chroma="$here/chroma/node_modules/.bin/chroma"
if [ ! -x "$chroma" ]; then
  echo "install-deps: installing the pinned Chroma server (npm)"
  (cd "$here/chroma" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
"$chroma" --help >/dev/null 2>&1 || { echo "install-deps: $chroma does not run" >&2; exit 1; }
echo "install-deps: all dependencies present"
