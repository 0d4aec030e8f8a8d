#!/usr/bin/env bash
# The test command (README Quick start): every unit and lab test under Node 24. On a fresh machine it first
# installs what the tests need: npm packages, and (as root on Debian) the lab's Debian packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/index.js ] || npm run --silent build
bash scripts/node24.sh test/lab/ensure-packages.ts
# the lab's control plane, built once (minutes) before any test's clock runs; without Go: one line, exit 3
bash scripts/build-kube.sh >/dev/null
pattern=${1:-'test/**/*.test.ts'}
exec bash scripts/node24.sh --test --test-concurrency=2 --test-timeout=900000 "$pattern"
