#!/usr/bin/env bash
# Builds dist/<action>/index.js for every action and dist/cli/index.js: tsc (type check + emit to build/),
# then one ncc bundle per entry point. Native addons ncc copies (ssh2's optional sshcrypto/cpufeatures)
# are dropped: ssh2 falls back to pure JS, and the bundles stay identical on every machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node24() { bash scripts/node24.sh "$@"; }
rm -rf build
node24 node_modules/typescript/bin/tsc -p tsconfig.build.json
entries=(discover-nodes prepare-nodes kubespray helm-platform runai etcd report cli)
for name in "${entries[@]}"; do
  if [ "$name" = cli ]; then src=build/actions/lib/cli/main.js; else src=build/actions/$name/main.js; fi
  rm -rf "dist/$name"
  node24 node_modules/@vercel/ncc/dist/ncc/cli.js build "$src" -o "dist/$name" --quiet --no-source-map-register
  find "dist/$name" -type f ! -name index.js -delete
  find "dist/$name" -mindepth 1 -type d -empty -delete
  printf '{\n  "type": "module"\n}\n' > "dist/$name/package.json"
done
chmod +x dist/cli/index.js
echo "built: ${entries[*]/#/dist/}"
