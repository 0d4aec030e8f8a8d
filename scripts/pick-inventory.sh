#!/usr/bin/env bash
# Used by .github/workflows/deploy.yml: which downloaded inventory artifact a job starts from.
#   pick-inventory.sh STEP DIR
# Artifacts are named inventory_<cluster key>_<step>_<run id>_<attempt>. DIR/this-run/ holds this run's artifacts
# of the steps before STEP (the job's download pattern names only those), DIR/earlier-run/ those of the run named by
# inventory-run-id (or, for discover-nodes, the previous successful run). Two layouts, both handled:
#   DIR/x/<artifact name>/inventory.json   download-artifact v4 always; v5 and later when several artifacts matched
#   DIR/x/inventory.json                   download-artifact v5 and later when exactly one artifact matched
# STEP gets the inventory of the latest step before it that ran in this run (highest attempt, so re-running failed
# jobs works); failing that, the latest step of the earlier run. STEP 'last' (the summary job) takes the latest of
# this run, or none; discover-nodes may start from none.
# Prints the path and writes path=<file> to $GITHUB_OUTPUT when set.
set -euo pipefail
steps=(discover-nodes prepare-nodes kubespray helm-platform runai-backend runai-cluster)
step=${1:?usage: pick-inventory.sh STEP DIR}
dir=${2:?usage: pick-inventory.sh STEP DIR}

before=()
found_step=false
for s in "${steps[@]}"; do
  if [ "$s" = "$step" ]; then found_step=true; break; fi
  before=("$s" "${before[@]}")
done
if [ "$step" != last ] && [ "$found_step" != true ]; then
  echo "pick-inventory.sh: unknown step '$step' (one of ${steps[*]} or last)" >&2
  exit 2
fi

# The inventory.json of the highest attempt of step $2 under $1 (v4 layout, or several artifacts), or nothing.
newest() {
  [ -d "$1" ] || return 0
  find "$1" -mindepth 2 -maxdepth 2 -path "$1/inventory_*_$2_*/inventory.json" -type f | sort -V | tail -n 1
}

# $1/inventory.json when exactly one artifact was downloaded straight into $1 (v5+ layout), or nothing.
single() {
  if [ -f "$1/inventory.json" ]; then echo "$1/inventory.json"; fi
}

pick=''
pick=$(single "$dir/this-run")
if [ -z "$pick" ]; then
  for s in "${before[@]}"; do
    pick=$(newest "$dir/this-run" "$s")
    [ -n "$pick" ] && break
  done
fi
if [ -z "$pick" ] && [ "$step" != last ]; then
  pick=$(single "$dir/earlier-run")
  for ((i = ${#steps[@]} - 1; i >= 0; i--)); do
    [ -n "$pick" ] && break
    pick=$(newest "$dir/earlier-run" "${steps[$i]}")
  done
fi
if [ -z "$pick" ] && [ "$step" != last ] && [ "$step" != discover-nodes ]; then
  echo "::error title=inventory::no inventory for $step: no earlier step of this run produced one. Select the earlier stages too, or set input inventory-run-id to a run whose inventory to start from."
  exit 1
fi
echo "inventory for $step: ${pick:-none}"
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "path=$pick" >>"$GITHUB_OUTPUT"; fi
