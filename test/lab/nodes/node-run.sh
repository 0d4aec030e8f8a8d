#!/bin/bash
# A lab node's "power supply" (supervisor): runs the node, i.e. node-init.sh as PID 1 of fresh mount,
# UTS, PID and time namespaces, and boots it again on the same disk after an in-node reboot (reboot(2)
# in a PID namespace ends its init with SIGHUP, so unshare exits 129). SIGTERM powers the node off.
# `unshare --fork` ignores SIGTERM itself, so the node's PID 1 is signalled; its death makes the kernel
# end every process of that PID namespace. Env: as node-init.sh, plus NODE_DIR (log and pid files).
set -u
stop=0
child=
power_off() {
  stop=1
  [ -n "$child" ] || return 0
  init=$(cat "/proc/$child/task/$child/children" 2>/dev/null)
  # CONT: a hung (SIGSTOPped) node must still be able to die
  [ -n "$init" ] && kill -TERM $init 2>/dev/null && kill -CONT $init 2>/dev/null
  return 0
}
trap power_off TERM INT
while :; do
  up=$(cut -d. -f1 /proc/uptime)
  unshare --mount --uts --pid --time --boottime "-$((up - 1))" --fork --propagation private --kill-child \
    "$LAB_BIN/node-init.sh" >>"$NODE_DIR/node.log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$NODE_DIR/unshare.pid"
  rc=0
  # wait returns early (>128) when a trapped signal arrives: keep waiting until unshare is gone
  while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
  [ "$stop" = 1 ] && break
  if [ "$rc" = 129 ]; then
    echo "supervisor: $NAME rebooted; booting again in 1 s" >>"$NODE_DIR/node.log"
    sleep 1
    continue
  fi
  echo "supervisor: $NAME stopped (exit $rc)" >>"$NODE_DIR/node.log"
  break
done
rm -f "$NODE_DIR/unshare.pid"
