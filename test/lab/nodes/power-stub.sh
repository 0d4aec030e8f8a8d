#!/bin/sh
# Lab stand-in for reboot/shutdown/poweroff/halt (the lab's nodes run sshd, not systemd, as PID 1).
# `systemctl reboot -ff` calls reboot(2), which in a PID namespace ends the node's init: the node's
# supervisor then boots it again on the same disk. setsid: survives ansible's `ssh -tt` hangup.
me=$(basename "$0"); act=reboot
case "$me" in poweroff|halt) act=poweroff ;; esac
for a in "$@"; do case "$a" in -r|--reboot) act=reboot ;; -h|-P|--poweroff|-H|--halt) act=poweroff ;; -c) exit 0 ;; esac; done
setsid -f /bin/sh -c "sleep 1; sync; exec /bin/systemctl $act -ff" >/dev/null 2>&1 </dev/null
exit 0
