#!/usr/bin/env bash
# Used by .github/workflows/deploy.yml and plan.yml: the cluster key in every artifact name and pattern, so two
# clusters deployed or planned in one run (a matrix) never collide on upload nor mix their inventories.
#   artifact-key.sh VALUE      VALUE: input cluster, else the spec path
# Every run of characters other than letters, digits, '.' and '-' becomes one '-' ('_' too: it separates the parts
# of an artifact name, inventory_<key>_<step>_<run id>_<attempt>), trimmed of '-' and '.' at both ends and cut to 64.
# Prints the key and writes key=<key> to $GITHUB_OUTPUT when set.
set -euo pipefail
value=${1-}
key=$(printf '%s' "$value" | LC_ALL=C tr -c 'A-Za-z0-9.-' '-' | LC_ALL=C tr -s '-')
key=${key:0:64}
while [[ "$key" == [-.]* ]]; do key=${key:1}; done
while [[ "$key" == *[-.] ]]; do key=${key%?}; done
if [ -z "$key" ]; then
  echo "::error title=cluster key::'${value//[^A-Za-z0-9._\/-]/?}' gives no artifact key: set input cluster to a name with letters or digits"
  exit 1
fi
echo "artifact key: $key"
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "key=$key" >>"$GITHUB_OUTPUT"; fi
