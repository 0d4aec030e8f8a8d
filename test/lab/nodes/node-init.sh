#!/bin/bash
# PID 1 of a lab node, started by node-run.sh in new mount, UTS, PID and time namespaces. Builds the
# node's private root, a whole-root overlay whose upper lives on the lab's tmpfs (so the node's disk
# survives reboots), sets the node up on the first boot of that disk, then becomes the node's sshd.
# Env: NAME ADDR PORT STATE (this node's state dir on the lab tmpfs) LAB_BIN (this folder) ADMIN_PUB
#      HIDE_DIRS (host dirs to cover) GPU_COUNT GPU_DATA (capture folder) DATA_MOUNT
#      PW_USER PW_HASH (optional password admin)
set -euo pipefail
S=$STATE
R=$S/mnt
hostname "$NAME"
mkdir -p "$S/upper" "$S/work" "$R" "$S/roothome" "$S/home"
mount -t overlay "lab-$NAME" -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=755 run "$R/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
mkdir -p "$R/run/lab" "$R/run/sshd"
# boot_id is not namespaced; ansible's reboot module compares it across the reboot
cat /proc/sys/kernel/random/uuid >"$R/run/lab/boot_id"
mount --bind "$R/run/lab/boot_id" "$R/proc/sys/kernel/random/boot_id"
[ -e "$S/roothome/.bashrc" ] || { cp -a /etc/skel/. "$S/roothome/"; chmod 700 "$S/roothome"; }
mount --bind "$S/roothome" "$R/root"
mount --bind "$S/home" "$R/home"
# Size-limited filesystems, made by nodes.ts on the host so that they outlive reboots: /var is an
# overlay whose upper sits on a small tmpfs (df shows that size, the contents stay), data is a tmpfs.
if [ -d "$S/varfs/upper" ]; then
  mount -t overlay "lab-$NAME-var" -o "lowerdir=$R/var,upperdir=$S/varfs/upper,workdir=$S/varfs/work" "$R/var"
fi
if [ -n "${DATA_MOUNT:-}" ] && [ -d "$S/datafs" ]; then
  mkdir -p "$R$DATA_MOUNT"
  mount --bind "$S/datafs" "$R$DATA_MOUNT"
fi
for d in $HIDE_DIRS; do
  if [ -d "$R$d" ]; then mount -t tmpfs -o size=1m,mode=755 hidden "$R$d"; fi
done

first_boot=0
[ -e "$R/etc/lab-node" ] || first_boot=1
if [ "$first_boot" = 1 ]; then
  echo "$NAME" >"$R/etc/hostname"
  printf '127.0.0.1 localhost\n%s %s\n' "$ADDR" "$NAME" >"$R/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$R/etc/machine-id"
  echo >>"$R/etc/machine-id"
  rm -f "$R"/etc/ssh/ssh_host_*
  # ed25519 only: an RSA-3072 key costs 1.75 s per node on 2 cores
  ssh-keygen -q -t ed25519 -N '' -C "root@$NAME" -f "$R/etc/ssh/ssh_host_ed25519_key"
  {
    echo "ListenAddress $ADDR:$PORT"
    echo "HostKey /etc/ssh/ssh_host_ed25519_key"
    echo "UsePAM yes"
    echo "PermitRootLogin prohibit-password"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "UseDNS no"
    echo "MaxStartups 200:30:400"
    echo "PrintMotd no"
    if [ -n "${PW_USER:-}" ]; then printf 'Match User %s\n  PasswordAuthentication yes\n' "$PW_USER"; fi
  } >"$R/etc/ssh/sshd_config.d/lab.conf"
  mkdir -p -m 700 "$R/root/.ssh"
  echo "$ADMIN_PUB" >"$R/root/.ssh/authorized_keys"
  chmod 600 "$R/root/.ssh/authorized_keys"
  for c in reboot shutdown poweroff halt; do
    rm -f "$R/usr/sbin/$c"
    install -m 755 "$LAB_BIN/power-stub.sh" "$R/usr/sbin/$c"
  done
  rm -f "$R/usr/bin/nvidia-smi"
  if [ "${GPU_COUNT:-0}" -gt 0 ]; then
    G=$R/usr/share/bcmkube-lab/gpu
    mkdir -p "$G"
    cp "$GPU_DATA/query-gpu.csv" "$GPU_DATA/nvidia-smi.txt" "$GPU_DATA/nvidia-smi-q.xml" "$G/"
    printf '{"count": %s}\n' "$GPU_COUNT" >"$G/node.json"
    install -m 755 "$LAB_BIN/nvidia-smi" "$R/usr/bin/nvidia-smi"
  fi
  echo "$NAME" >"$R/etc/lab-node"
fi

mkdir -p "$R/.oldroot"
cd "$R"
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot

if [ "$first_boot" = 1 ] && [ -n "${PW_USER:-}" ]; then
  useradd -m -s /bin/bash "$PW_USER"
  usermod -p "$PW_HASH" "$PW_USER"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$PW_USER" >/etc/sudoers.d/lab-admin
  chmod 440 /etc/sudoers.d/lab-admin
fi
unset ADMIN_PUB PW_HASH
exec /usr/sbin/sshd -D -e
