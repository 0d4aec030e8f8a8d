#!/bin/bash
# A lab node's "power supply": runs the node (node-init.sh as PID 1 of fresh namespaces) and starts it
# again after an in-node reboot (its init dies of SIGHUP: unshare exits 129). TERM powers it off.
# Env as node-init.sh, plus NODE_DIR (logs, pids).
set -u
stop=0
child=
trap 'stop=1; if [ -n "$child" ]; then init=$(cat "/proc/$child/task/$child/children" 2>/dev/null); [ -n "$init" ] && kill -TERM $init; fi' TERM INT
while :; do
  up=$(cut -d. -f1 /proc/uptime)
  unshare --mount --uts --pid --time --boottime "-$((up - 1))" --fork --propagation private --kill-child \
    "$LAB_BIN/node-init.sh" >>"$NODE_DIR/node.log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$NODE_DIR/unshare.pid"
  rc=0
  while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
  [ "$stop" = 1 ] && break
  if [ "$rc" = 129 ]; then sleep 1; continue; fi
  break
done
rm -f "$NODE_DIR/unshare.pid"
