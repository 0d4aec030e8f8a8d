#!/bin/bash
# PID 1 of a lab node (new mount, UTS, PID and time namespaces; started by node-run.sh through unshare).
# Builds the node's private root (a whole-root overlay whose upper lives on the lab's tmpfs, so the
# disk survives reboots), then becomes the node's sshd on its own loopback address.
# Env: NAME ADDR PORT STATE (this node's state dir) LAB_BIN (this folder) ADMIN_PUB HIDE_DIRS
#      GPU_COUNT GPU_MODEL GPU_DATA (capture folder) PW_USER PW_HASH (optional password admin)
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
cat /proc/sys/kernel/random/uuid >"$R/run/lab/boot_id"
mount --bind "$R/run/lab/boot_id" "$R/proc/sys/kernel/random/boot_id"
[ -e "$S/roothome/.bashrc" ] || { cp -a /etc/skel/. "$S/roothome/"; chmod 700 "$S/roothome"; }
mount --bind "$S/roothome" "$R/root"
mount --bind "$S/home" "$R/home"
# Size-limited filesystems made by the supervisor in the host namespace (they persist across reboots).
if [ -d "$S/varfs/upper" ]; then
  mount -t overlay "lab-$NAME-var" -o "lowerdir=$R/var,upperdir=$S/varfs/upper,workdir=$S/varfs/work" "$R/var"
fi
if [ -n "${DATA_MOUNT:-}" ] && [ -d "$S/datafs" ]; then
  mkdir -p "$R$DATA_MOUNT"
  mount --bind "$S/datafs" "$R$DATA_MOUNT"
fi
for d in $HIDE_DIRS; do [ -d "$R$d" ] && mount -t tmpfs -o size=1m,mode=755 hidden "$R$d"; done

first_boot=0
[ -e "$R/etc/lab-node" ] || first_boot=1
if [ "$first_boot" = 1 ]; then
  echo "$NAME" >"$R/etc/hostname"
  printf '127.0.0.1 localhost\n%s %s\n' "$ADDR" "$NAME" >"$R/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$R/etc/machine-id"; echo >>"$R/etc/machine-id"
  rm -f "$R"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C "root@$NAME" -f "$R/etc/ssh/ssh_host_ed25519_key"
  {
    echo "ListenAddress $ADDR:$PORT"
    echo "HostKey /etc/ssh/ssh_host_ed25519_key"
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
    rm -f "$R/usr/sbin/$c"; install -m 755 "$LAB_BIN/power-stub.sh" "$R/usr/sbin/$c"
  done
  rm -f "$R/usr/bin/nvidia-smi"
  if [ "${GPU_COUNT:-0}" -gt 0 ]; then
    mkdir -p "$R/usr/share/bcmkube-lab/gpu"
    cp "$GPU_DATA"/* "$R/usr/share/bcmkube-lab/gpu/"
    printf '{"count": %s, "model": "%s"}\n' "$GPU_COUNT" "$GPU_MODEL" >"$R/usr/share/bcmkube-lab/gpu/node.json"
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
