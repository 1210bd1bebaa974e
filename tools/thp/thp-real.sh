#!/bin/bash
# Records what the real kernel spends faulting anonymous memory in on first touch, 4 KiB pages
# (MADV_NOHUGEPAGE) against 2 MiB THPs (MADV_HUGEPAGE), and re-touching present pages: oracle O1
# of the fidelity audit, the calibration of kvmsim's host-fault term (host_fault_cycles).
# usage: thp-real.sh faultcost MiB [RUNS=3]
# Needs root. Holds the shared knob lock for the whole recording, logs the THP knobs before and
# after, sets transparent_hugepage/enabled to madvise if it is never (and puts it back, also when
# interrupted). Output: JSON lines on stdout (see thp_probe.c), knob lines as {"knobs":...}.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "thp-real.sh: run as root" >&2; exit 1; }
[ $# -ge 2 ] && [ "$1" = faultcost ] || { sed -n '5p' "$0"; exit 2; }
mib=$2 runs=${3:-3}
# one recording of the host kernel at a time (the project's own recording tools take the same lock)
exec 9>/run/lock/kvmsim-kernel-knobs.lock; flock 9
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
gcc -O2 -Wall -o "$dir/thp_probe" "$here/thp_probe.c"
t=/sys/kernel/mm/transparent_hugepage
knobs() { printf '{"knobs":"%s","enabled":"%s","defrag":"%s"}\n' "$1" "$(cat $t/enabled)" "$(cat $t/defrag)"; }
old_enabled=$(sed 's/.*\[\(.*\)\].*/\1/' $t/enabled)
restore() { [ "$(sed 's/.*\[\(.*\)\].*/\1/' $t/enabled)" = "$old_enabled" ] || echo "$old_enabled" > $t/enabled; rm -rf "$dir"; }
trap restore EXIT
trap 'exit 130' INT TERM HUP
knobs before
[ "$old_enabled" != never ] || echo madvise > $t/enabled
printf '{"kernel":"%s","date":"%s"}\n' "$(uname -r)" "$(date -u +%FT%TZ)"
rc=0
for _ in $(seq "$runs"); do "$dir/thp_probe" faultcost "$mib" || rc=$?; done
restore; trap - EXIT
knobs after
exit $rc
