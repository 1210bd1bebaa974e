#!/bin/bash
# Records the real kernel's anonymous faults, for kvmsim's fixtures under
# src/test/resources/fixtures/thp/ (see thp_probe.c for the phases):
#   faultcost  first-touch cost, 4 KiB pages (MADV_NOHUGEPAGE) against 2 MiB THPs (MADV_HUGEPAGE),
#              and re-touching present pages: oracle O1, the host-fault term (host_fault_cycles)
#   zeropage   reads of never-written memory map the (huge) zero page; a later write allocates:
#              oracle O3
# usage: thp-real.sh faultcost|zeropage MiB [RUNS=3]
# Needs root. Holds the shared knob lock for the whole recording, logs the THP knobs before and
# after, sets transparent_hugepage/enabled to madvise if it is never and use_zero_page to 1 if it
# is 0 (and puts them back, also when interrupted). Output: JSON lines on stdout (see
# thp_probe.c), knob lines as {"knobs":...}.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "thp-real.sh: run as root" >&2; exit 1; }
[ $# -ge 2 ] && { [ "$1" = faultcost ] || [ "$1" = zeropage ]; } || { sed -n '8p' "$0"; exit 2; }
mode=$1 mib=$2 runs=${3:-3}
# one recording of the host kernel at a time (the project's own recording tools take the same lock)
exec 9>/run/lock/kvmsim-kernel-knobs.lock; flock 9
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
gcc -O2 -Wall -o "$dir/thp_probe" "$here/thp_probe.c"
t=/sys/kernel/mm/transparent_hugepage
knobs() {
    printf '{"knobs":"%s","enabled":"%s","defrag":"%s","use_zero_page":"%s"}\n' \
        "$1" "$(cat $t/enabled)" "$(cat $t/defrag)" "$(cat $t/use_zero_page)"
}
selected() { sed 's/.*\[\(.*\)\].*/\1/' $t/enabled; }
old_enabled=$(selected) old_zero=$(cat $t/use_zero_page)
restore() {
    [ "$(selected)" = "$old_enabled" ] || echo "$old_enabled" > $t/enabled
    [ "$(cat $t/use_zero_page)" = "$old_zero" ] || echo "$old_zero" > $t/use_zero_page
    rm -rf "$dir"
}
trap restore EXIT
trap 'exit 130' INT TERM HUP
knobs before
[ "$old_enabled" != never ] || echo madvise > $t/enabled
[ "$mode" != zeropage ] || [ "$old_zero" = 1 ] || echo 1 > $t/use_zero_page
printf '{"kernel":"%s","date":"%s"}\n' "$(uname -r)" "$(date -u +%FT%TZ)"
rc=0
for _ in $(seq "$runs"); do "$dir/thp_probe" "$mode" "$mib" || rc=$?; done
restore; trap - EXIT
knobs after
exit $rc
