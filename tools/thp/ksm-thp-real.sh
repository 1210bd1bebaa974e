#!/bin/bash
# Records KSM against khugepaged on the real kernel: oracle O4 of the fidelity audit. ksmd splits a
# THP to merge pages inside it; khugepaged collapses a range again when it holds at most
# max_ptes_shared shared pages, which un-merges them; ksmd splits and merges again (the ping-pong
# kvmsim models: docs/model.md section 4).
# usage: ksm-thp-real.sh MiB SHARED SECS [VARIANT...]   VARIANT: defaults | KNOB=VALUE (a khugepaged knob)
# e.g.   ksm-thp-real.sh 16 100 45 defaults max_ptes_shared=0
# Each variant: one probe (thp_probe ksmthp MiB SHARED SECS) with ksmd running (run = 1,
# pages_to_scan = 1000, sleep_millisecs = 20) and its khugepaged knob written; both put back after
# it (run back to what it was: 0 stops ksmd and leaves merged pages to the probe, which exits).
# Needs root. Holds the shared knob lock for the whole recording, logs the THP, khugepaged and KSM
# knobs and the load average before and after each variant, sets enabled to madvise if it is
# never, and restores every knob, also when interrupted.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "ksm-thp-real.sh: run as root" >&2; exit 1; }
[ $# -ge 3 ] || { sed -n '6,7p' "$0"; exit 2; }
mib=$1 shared=$2 secs=$3; shift 3
[ $# -gt 0 ] || set -- defaults
exec 9>/run/lock/kvmsim-kernel-knobs.lock; flock 9
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
gcc -O2 -Wall -o "$dir/thp_probe" "$here/thp_probe.c"
t=/sys/kernel/mm/transparent_hugepage
k=$t/khugepaged
s=/sys/kernel/mm/ksm
knames="pages_to_scan scan_sleep_millisecs alloc_sleep_millisecs max_ptes_none max_ptes_swap max_ptes_shared defrag"
snames="run pages_to_scan sleep_millisecs"
knobs() {
    printf '{"knobs":"%s","enabled":"%s","defrag":"%s"' "$1" "$(cat $t/enabled)" "$(cat $t/defrag)"
    for n in $knames pages_collapsed full_scans; do printf ',"khugepaged/%s":%s' "$n" "$(cat $k/$n)"; done
    for n in $snames max_page_sharing use_zero_pages merge_across_nodes pages_shared pages_sharing; do
        printf ',"ksm/%s":%s' "$n" "$(cat $s/$n)"
    done
    printf ',"loadavg":"%s"}\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}
sel() { sed 's/.*\[\(.*\)\].*/\1/' "$1"; }
old_enabled=$(sel $t/enabled)
declare -A oldk olds
for n in $knames; do oldk[$n]=$(cat $k/$n); done
for n in $snames; do olds[$n]=$(cat $s/$n); done
restore() {
    for n in $knames; do [ "$(cat $k/$n)" = "${oldk[$n]}" ] || echo "${oldk[$n]}" > $k/$n; done
    for n in $snames; do [ "$(cat $s/$n)" = "${olds[$n]}" ] || echo "${olds[$n]}" > $s/$n; done
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
        *=*) n=${v%%=*}; [ -n "${oldk[$n]+x}" ] || { echo "ksm-thp-real.sh: unknown khugepaged knob $n" >&2; exit 2; } ;;
        *) echo "ksm-thp-real.sh: variant is defaults or KNOB=VALUE, not $v" >&2; exit 2 ;;
    esac
    [ $first = 1 ] || sleep $(( $(cat $k/scan_sleep_millisecs) / 1000 + 2 ))
    first=0
    printf '{"variant":"%s"}\n' "$v"
    knobs before
    [ "$v" = defaults ] || echo "${v#*=}" > $k/${v%%=*}
    echo 1000 > $s/pages_to_scan; echo 20 > $s/sleep_millisecs; echo 1 > $s/run
    "$dir/thp_probe" ksmthp "$mib" "$shared" "$secs" || rc=$?
    restore
    knobs after
done
exit $rc
