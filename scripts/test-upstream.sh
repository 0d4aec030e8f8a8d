#!/usr/bin/env bash
# The upstream conformance suite: the stages' own code against real upstream data in ../shared/upstream
# (real chart values, CRDs and renders, BCM 11 captures, Run:ai's OpenAPI document, Kubespray's config).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
pattern=${1:-'test/upstream/**/*.test.ts'}
exec bash scripts/node24.sh --test --test-concurrency=2 --test-timeout=600000 "$pattern"
