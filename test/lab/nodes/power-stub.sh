#!/bin/sh
# Lab stand-in for reboot/shutdown/poweroff/halt: a lab node runs sshd, not systemd, as PID 1, and
# Debian's versions of these are links to systemctl, which fails without systemd.
# `systemctl <act> -ff` calls reboot(2) directly; in a PID namespace that ends the node's init (SIGHUP
# for reboot, SIGINT for poweroff) and the node's supervisor boots it again or leaves it off.
# setsid -f: the delayed call must survive the hangup of ansible's `ssh -tt` session.
me=$(basename "$0")
act=reboot
case "$me" in poweroff | halt) act=poweroff ;; esac
for a in "$@"; do
  case "$a" in
    -r | --reboot) act=reboot ;;
    -h | -P | --poweroff | -H | --halt) act=poweroff ;;
    -c) exit 0 ;; # cancel a pending shutdown: nothing is pending long enough to cancel
  esac
done
setsid -f /bin/sh -c "sleep 1; sync; exec /bin/systemctl $act -ff" >/dev/null 2>&1 </dev/null
exit 0
