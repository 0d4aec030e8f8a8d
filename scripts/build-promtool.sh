#!/usr/bin/env bash
# Builds promtool, Prometheus' rule checker, from the Prometheus Go module into .tools/promtool-<version>/,
# once per version (a second call does nothing). The version is the Prometheus that kube-prometheus-stack
# 77.6.2 runs (v3.5.0, published on the module proxy as v0.305.0). Prints the binary's path.
# Environment: PROMETHEUS_MODULE_VERSION overrides the version; GOMODCACHE/GOCACHE as usual.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib/go-build-env.sh
VERSION=${PROMETHEUS_MODULE_VERSION:-v0.305.0}
TOOLS=${BCMKUBE_TOOLS:-$PWD/.tools}
dest="$TOOLS/promtool-$VERSION"

if [ -x "$dest/promtool" ]; then
  echo "$dest/promtool"
  exit 0
fi
require_go "promtool is built from the Prometheus Go module and"
mkdir -p "$TOOLS"
# one build at a time (test files run in parallel); a second caller waits, then finds the binary there
exec 9>"$TOOLS/.promtool.lock"
flock 9
if [ -x "$dest/promtool" ]; then
  echo "$dest/promtool"
  exit 0
fi
work=$(mktemp -d "$TOOLS/.build-promtool-XXXXXX")
trap 'rm -rf "$work"' EXIT
printf 'module bcmkube.tools/promtool\n\ngo 1.24\n\nrequire github.com/prometheus/prometheus %s\n' "$VERSION" >"$work/go.mod"
echo "build-promtool: building promtool $VERSION (first time only; minutes)" >&2
(cd "$work" && go build -trimpath -ldflags "-s -w" -o "$work/promtool" github.com/prometheus/prometheus/cmd/promtool)
rm -rf "$dest"
mkdir -p "$dest.tmp"
mv "$work/promtool" "$dest.tmp/promtool"
mv "$dest.tmp" "$dest"
echo "$dest/promtool"
