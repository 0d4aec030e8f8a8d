#!/usr/bin/env bash
# The README's first command: bring up the local lab and run the whole pipeline on it with clusters/lab.yaml —
# discover-nodes, prepare-nodes, kubespray (the lab's Kubespray stand-in, real ansible-playbook over real SSH,
# bringing up the lab's real control plane: etcd, kube-apiserver, controller-manager, scheduler, KWOK nodes),
# helm-platform (the real helm and kubectl from the lab's tool mirror against that API server and the lab chart
# repository) and runai backend + cluster (the Run:ai simulator) — then a plan run, which must report no changes.
# Nothing but the spec (and the Run:ai registry token, a secret) is passed: no environment variable.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bcmkube() { bash scripts/node24.sh actions/lib/cli/main.ts "$@"; }
start=$SECONDS

echo "== 1. the lab"
bcmkube lab up
echo
echo "== 2. validate the spec"
bcmkube validate --spec clusters/lab.yaml
echo
secrets=(--jfrog-token-file .bcmkube/lab/secrets/jfrog-token)

echo "== 3. deploy: every stage, the inventory handed on between stages as files (as the workflow's artifacts)"
bcmkube deploy --spec clusters/lab.yaml "${secrets[@]}"
echo
echo "== 4. plan on the deployed lab: what a pull request would be told"
bcmkube plan --spec clusters/lab.yaml "${secrets[@]}" | tee .bcmkube/dgx-lab/plan.log
echo
echo "== 5. artifacts (what the workflow passes between jobs)"
ls -l .bcmkube/dgx-lab/artifacts/
echo "run document: .bcmkube/dgx-lab/deploy.md    plan document: .bcmkube/dgx-lab/plan.md"
echo
grep -q '^plan: no changes in any stage\.$' .bcmkube/dgx-lab/plan.log || { echo "demo: the plan after deploy was expected to report no changes" >&2; exit 1; }
echo "demo: done in $((SECONDS - start)) s. The lab keeps running: 'npm run lab -- status' shows it, 'npm run lab -- down' removes it."
