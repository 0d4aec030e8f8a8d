#!/bin/bash
# The lab's stand-in for systemd units and static pods: starts and stops the real control plane inside a
# lab node, where Kubespray's roles would leave it running. Installed in a node as /usr/local/bin/lab-kube
# (by test/lab/kube/control-plane.ts, or by an Ansible task), run there as root (over SSH or nsenter):
#   lab-kube start etcd                     ETCD_* settings from /etc/etcd.env, as Kubespray's etcd.service
#   lab-kube start kube-apiserver|kube-controller-manager|kube-scheduler|apiserver-proxy|kwok|gpu-capacity|operator-status
#                                           settings from /etc/kubernetes/lab-kube.env (NODE_NAME, NODE_IP,
#                                           ETCD_SERVERS, APISERVERS, SERVICE_CIDR, POD_CIDR); kwok runs on every
#                                           node, apiserver-proxy on the workers
#   lab-kube stop <name>|all                SIGTERM by pid file, SIGKILL after 10 s
#   lab-kube status                         one line per component: name pid|stopped
# Logs: /var/log/lab-kube/<name>.log; pid files: /run/lab-kube/<name>.pid. Start is idempotent.
set -euo pipefail
RUN=/run/lab-kube
LOG=/var/log/lab-kube
BIN=/usr/local/bin
K=/etc/kubernetes
SSL=$K/ssl
ETCD_SSL=/etc/ssl/etcd/ssl
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler apiserver-proxy kwok gpu-capacity operator-status"
mkdir -p "$RUN" "$LOG"

running() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null
}

# the command line of one component; settings come from files Kubespray's roles would have written
command_of() {
  case $1 in
    etcd)
      echo "$BIN/etcd"
      ;;
    kube-apiserver)
      echo "$BIN/kube-apiserver --advertise-address=$NODE_IP --bind-address=$NODE_IP --secure-port=6443" \
        "--etcd-servers=$ETCD_SERVERS --etcd-cafile=$ETCD_SSL/ca.pem" \
        "--etcd-certfile=$ETCD_SSL/node-$NODE_NAME.pem --etcd-keyfile=$ETCD_SSL/node-$NODE_NAME-key.pem" \
        "--client-ca-file=$SSL/ca.crt --tls-cert-file=$SSL/apiserver.crt --tls-private-key-file=$SSL/apiserver.key" \
        "--service-account-key-file=$SSL/sa.pub --service-account-signing-key-file=$SSL/sa.key" \
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local" \
        "--service-cluster-ip-range=$SERVICE_CIDR --authorization-mode=Node,RBAC --allow-privileged=true" \
        "--enable-admission-plugins=NodeRestriction --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname" \
        "--enable-aggregator-routing=true --endpoint-reconciler-type=lease --profiling=false" \
        "--max-requests-inflight=200 --max-mutating-requests-inflight=100 --event-ttl=30m"
      ;;
    kube-controller-manager)
      echo "$BIN/kube-controller-manager --kubeconfig=$K/controller-manager.conf" \
        "--authentication-kubeconfig=$K/controller-manager.conf --authorization-kubeconfig=$K/controller-manager.conf" \
        "--bind-address=$NODE_IP --secure-port=10257 --leader-elect=true --use-service-account-credentials=true" \
        "--cluster-signing-cert-file=$SSL/ca.crt --cluster-signing-key-file=$SSL/ca.key --root-ca-file=$SSL/ca.crt" \
        "--service-account-private-key-file=$SSL/sa.key --service-cluster-ip-range=$SERVICE_CIDR" \
        "--allocate-node-cidrs=false --controllers=*,bootstrapsigner,tokencleaner --profiling=false" \
        "--concurrent-deployment-syncs=2 --concurrent-replicaset-syncs=2 --node-monitor-grace-period=40s"
      ;;
    kube-scheduler)
      echo "$BIN/kube-scheduler --kubeconfig=$K/scheduler.conf --authentication-kubeconfig=$K/scheduler.conf" \
        "--authorization-kubeconfig=$K/scheduler.conf --bind-address=$NODE_IP --secure-port=10259" \
        "--leader-elect=true --profiling=false"
      ;;
    apiserver-proxy)
      # a worker's local way to every API server (Kubespray: nginx-proxy); on the node's address, not localhost
      echo "$BIN/lab-apiserver-proxy $NODE_IP:6443 ${APISERVERS//,/ }"
      ;;
    kwok)
      # this node's "kubelet": KWOK for this node only, serving logs on <node address>:10250 as kubelet does;
      # pod IPs come from a loopback range nobody listens on (no request for a pod ever leaves the machine)
      echo "$BIN/kwok --kubeconfig=$K/kubelet.conf --manage-single-node=$NODE_NAME --node-name=$NODE_NAME" \
        "--node-ip=$NODE_IP --cidr=$POD_CIDR --node-port=10250 --server-address=$NODE_IP:10250" \
        "--node-lease-duration-seconds=40 --config=$K/kwok.yaml"
      ;;
    gpu-capacity)
      echo "$BIN/lab-kube gpu-capacity-loop"
      ;;
    operator-status)
      echo "$BIN/lab-kube operator-status-loop"
      ;;
    *)
      echo "lab-kube: unknown component '$1' (one of: $COMPONENTS)" >&2
      exit 2
      ;;
  esac
}

start() {
  local name=$1 cmd
  if running "$name"; then
    echo "$name already running (pid $(cat "$RUN/$name.pid"))"
    return
  fi
  # the settings, exported to the component (etcd reads its ETCD_* variables itself, as from systemd's
  # EnvironmentFile=/etc/etcd.env); sourced here, not in the $(...) subshell below
  set -a
  if [ "$name" = etcd ]; then . /etc/etcd.env; else . $K/lab-kube.env; fi
  set +a
  [ "$name" != etcd ] || [ -n "${ETCD_LISTEN_CLIENT_URLS:-}" ] || {
    echo "lab-kube: /etc/etcd.env sets no ETCD_LISTEN_CLIENT_URLS; refusing to start etcd on its defaults (localhost)" >&2
    exit 1
  }
  cmd=$(command_of "$name")
  [ "$name" = etcd ] && mkdir -p "${ETCD_DATA_DIR:-/var/lib/etcd}"
  # what a CUDA container on this node prints for `nvidia-smi -L`, in the CRI log format a kubelet serves
  # (kwok.yaml serves it as the containers' logs)
  if [ "$name" = kwok ] && command -v nvidia-smi >/dev/null; then
    mkdir -p /var/lib/lab-kube
    nvidia-smi -L | while IFS= read -r line; do printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$line"; done \
      >/var/lib/lab-kube/nvidia-smi-L.log
  fi
  # a session of its own, every descriptor on the log: the caller (ssh, nsenter) returns at once
  # shellcheck disable=SC2086
  GOMAXPROCS=${GOMAXPROCS:-2} setsid $cmd >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  echo "$name started (pid $!)"
}

stop() {
  local name=$1 pid i
  pid=$(cat "$RUN/$name.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  echo "$name stopped"
}

# GPU nodes advertise nvidia.com/gpu once the device plugin runs there, as on a real cluster: a Ready pod
# labelled app=nvidia-device-plugin-daemonset (the GPU Operator's label) on a node whose annotation
# lab.bcmkube.io/gpus names its GPU count makes this loop patch the node's capacity and allocatable.
gpu_capacity_loop() {
  local kc=(--kubeconfig "$K/admin.conf") node count
  while :; do
    for node in $("$BIN/kubectl" "${kc[@]}" get pods -A -l app=nvidia-device-plugin-daemonset \
      -o jsonpath='{range .items[*]}{.spec.nodeName}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
      2>/dev/null | awk '$2 == "True" {print $1}' | sort -u); do
      count=$("$BIN/kubectl" "${kc[@]}" get node "$node" \
        -o jsonpath='{.metadata.annotations.lab\.bcmkube\.io/gpus}|{.status.capacity.nvidia\.com/gpu}' 2>/dev/null) || continue
      [ -n "${count%%|*}" ] && [ -z "${count#*|}" ] || continue
      "$BIN/kubectl" "${kc[@]}" patch node "$node" --subresource=status --type=merge \
        -p "{\"status\":{\"capacity\":{\"nvidia.com/gpu\":\"${count%%|*}\"},\"allocatable\":{\"nvidia.com/gpu\":\"${count%%|*}\"}}}" \
        >/dev/null && echo "$node: nvidia.com/gpu=${count%%|*}"
    done
    sleep 2
  done
}

# STAND-IN for the operators the lab's test charts name but do not run (prometheus-operator, the Knative
# operator): their custom resources get the status the real operator sets once its workload is up —
# Prometheus and Alertmanager Available, KnativeServing Ready. Resources whose kind has no CRD are skipped.
operator_status_loop() {
  local kc=(--kubeconfig "$K/admin.conf") kind condition ns name
  while :; do
    for pair in prometheuses.monitoring.coreos.com=Available alertmanagers.monitoring.coreos.com=Available \
      knativeservings.operator.knative.dev=Ready; do
      kind=${pair%%=*} condition=${pair#*=}
      "$BIN/kubectl" "${kc[@]}" get "$kind" -A \
        -o jsonpath="{range .items[*]}{.metadata.namespace} {.metadata.name} {.status.conditions[?(@.type==\"$condition\")].status}{\"\\n\"}{end}" \
        2>/dev/null | while read -r ns name status; do
        [ "${status:-}" = True ] && continue
        "$BIN/kubectl" "${kc[@]}" patch "$kind" "$name" -n "$ns" --subresource=status --type=merge \
          -p "{\"status\":{\"conditions\":[{\"type\":\"$condition\",\"status\":\"True\",\"reason\":\"LabStandIn\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}" \
          >/dev/null && echo "$kind $ns/$name: $condition"
      done || true # no such CRD (yet)
    done
    sleep 2
  done
}

case ${1:-} in
  start) start "${2:?usage: lab-kube start <component>}" ;;
  stop)
    if [ "${2:-}" = all ]; then
      for c in $(echo "$COMPONENTS" | tr ' ' '\n' | tac); do stop "$c"; done
    else
      stop "${2:?usage: lab-kube stop <component>|all}"
    fi
    ;;
  status)
    for c in $COMPONENTS; do
      if running "$c"; then echo "$c $(cat "$RUN/$c.pid")"; else echo "$c stopped"; fi
    done
    ;;
  gpu-capacity-loop) gpu_capacity_loop ;;
  operator-status-loop) operator_status_loop ;;
  *)
    echo "usage: lab-kube start|stop <component> | stop all | status (components: $COMPONENTS)" >&2
    exit 2
    ;;
esac
