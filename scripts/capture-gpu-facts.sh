#!/usr/bin/env bash
# Captures the exact GPU commands the node probe runs (and a few more for the lab's nvidia-smi stand-in)
# on a machine with NVIDIA GPUs, into DIR. The parsers' test fixtures come from these captures.
set -uo pipefail
out=${1:?usage: capture-gpu-facts.sh DIR}
mkdir -p "$out"
run() { local file=$1; shift; "$@" >"$out/$file" 2>&1; echo "exit=$?" >"$out/$file.exit"; }
run nvidia-smi.txt nvidia-smi
run nvidia-smi-L.txt nvidia-smi -L
run query-gpu.csv nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,memory.total,memory.used,driver_version,mig.mode.current,compute_cap,persistence_mode,temperature.gpu,power.draw --format=csv
run query-gpu-noheader.csv nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version,mig.mode.current --format=csv,noheader,nounits
run probe-query.csv nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,memory.total,driver_version,mig.mode.current,compute_cap --format=csv,noheader,nounits
run nvidia-smi-q.xml nvidia-smi -q -x
run topo.txt nvidia-smi topo -m
run bad-option.txt nvidia-smi --query-gpu=index,bogus_field --format=csv
run proc-driver-version.txt cat /proc/driver/nvidia/version
{ uname -a; cat /etc/os-release; } >"$out/os.txt" 2>&1
date -u +%Y-%m-%dT%H:%M:%SZ >"$out/captured-at.txt"
