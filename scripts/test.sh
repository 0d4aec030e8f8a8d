#!/usr/bin/env bash
# The test command (README Quick start): every unit and lab test under Node 24.
# Lab tests need root (namespaces, mounts) and the Debian packages that `bcmkube lab up` installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pattern=${1:-'test/**/*.test.ts'}
exec bash scripts/node24.sh --test --test-concurrency=2 --test-timeout=900000 "$pattern"
