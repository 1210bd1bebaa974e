#!/bin/bash
# Records khugepaged's collapse timeline on the real kernel: oracle O2 of the fidelity audit, what
# kvmsim's khugepaged (sim/hugetlb/Khugepaged.java, sim/Daemons.java) is held to.
# usage: khugepaged-real.sh MiB SECS [VARIANT...]   VARIANT: defaults | KNOB=VALUE (a khugepaged knob)
# e.g.   khugepaged-real.sh 64 45 defaults pages_to_scan=512 scan_sleep_millisecs=1000 max_ptes_none=0
# Each variant: one probe (thp_probe collapse MiB 512 SECS: 1 page touched per 2 MiB under
# MADV_NOHUGEPAGE, then MADV_HUGEPAGE, polled every 0.5 s), with its knob written just before and
# restored just after. Needs root. Holds the shared knob lock for the whole recording, logs every
# khugepaged knob and THP enabled/defrag before and after each variant, sets enabled to madvise if
# it is never, and puts every knob back, also when interrupted. Between variants it waits
# scan_sleep_millisecs + 2 s so that khugepaged has dropped the exited probe's mm_slot and the
# next registration finds the list empty (the immediate wake of __khugepaged_enter()).
# POLL_S=0.1 in the environment polls more often (default 0.5); THP_PROBE_NO_SMAPS=1 reads only
# the counters (see thp_probe.c).
# Output: JSON lines on stdout: {"variant":...}, {"knobs":...}, then thp_probe's lines.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "khugepaged-real.sh: run as root" >&2; exit 1; }
[ $# -ge 2 ] || { sed -n '4,5p' "$0"; exit 2; }
mib=$1 secs=$2; shift 2
[ $# -gt 0 ] || set -- defaults
# one recording of the host kernel at a time (the project's own recording tools take the same lock)
exec 9>/run/lock/kvmsim-kernel-knobs.lock; flock 9
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
gcc -O2 -Wall -o "$dir/thp_probe" "$here/thp_probe.c"
t=/sys/kernel/mm/transparent_hugepage
k=$t/khugepaged
names="pages_to_scan scan_sleep_millisecs alloc_sleep_millisecs max_ptes_none max_ptes_swap max_ptes_shared defrag"
knobs() {
    printf '{"knobs":"%s","enabled":"%s","defrag":"%s"' "$1" "$(cat $t/enabled)" "$(cat $t/defrag)"
    for n in $names pages_collapsed full_scans; do printf ',"khugepaged/%s":%s' "$n" "$(cat $k/$n)"; done
    # khugepaged runs at nice 19: on a loaded machine its passes stretch (see the fixture README)
    printf ',"loadavg":"%s"}\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}
sel() { sed 's/.*\[\(.*\)\].*/\1/' "$1"; }
old_enabled=$(sel $t/enabled)
declare -A old
for n in $names; do old[$n]=$(cat $k/$n); done
restore() {
    for n in $names; do [ "$(cat $k/$n)" = "${old[$n]}" ] || echo "${old[$n]}" > $k/$n; done
    [ "$(sel $t/enabled)" = "$old_enabled" ] || echo "$old_enabled" > $t/enabled
}
trap 'restore; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP
printf '{"kernel":"%s","date":"%s"}\n' "$(uname -r)" "$(date -u +%FT%TZ)"
[ "$old_enabled" != never ] || echo madvise > $t/enabled
rc=0 first=1
for v in "$@"; do
    case $v in
        defaults) ;;
        *=*) n=${v%%=*}; [ -n "${old[$n]+x}" ] || { echo "khugepaged-real.sh: unknown knob $n" >&2; exit 2; } ;;
        *) echo "khugepaged-real.sh: variant is defaults or KNOB=VALUE, not $v" >&2; exit 2 ;;
    esac
    [ $first = 1 ] || sleep $(( $(cat $k/scan_sleep_millisecs) / 1000 + 2 ))
    first=0
    printf '{"variant":"%s"}\n' "$v"
    knobs before
    [ "$v" = defaults ] || echo "${v#*=}" > $k/${v%%=*}
    "$dir/thp_probe" collapse "$mib" 512 "$secs" "${POLL_S:-0.5}" || rc=$?
    restore
    knobs after
done
exit $rc
