#!/usr/bin/env bash
# Records a program's memory accesses as a lackey trace kvmsim replays
# (workload NAME on VM { trace = "OUT" }), xz-compressed as it is written, never whole on disk.
#
#   tools/trace/record.sh [-o OUT.lackey.xz] [-n MAX_LINES] PROGRAM [ARGS...]
#
# -o  where to write it (default: PROGRAM's name.lackey.xz in the current folder)
# -n  keep only the first MAX_LINES lines (instruction fetches included), for a short trace
#
# The trace is valgrind --tool=lackey --trace-mem=yes: "I  ADDR,SIZE" instruction fetches,
# " L", " S", " M" loads, stores and modifies. The program's own output goes where it would.
set -euo pipefail
out=""
max=""
while getopts "o:n:h" opt; do
  case $opt in
    o) out=$OPTARG ;;
    n) max=$OPTARG ;;
    *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; fi
command -v valgrind >/dev/null || { echo "record.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
command -v xz >/dev/null || { echo "record.sh: xz is not installed (apt-get install xz-utils)" >&2; exit 2; }
[ -n "$out" ] || out="$(basename "$1").lackey.xz"
if [ -n "$max" ]; then
  # head ends the pipe after MAX_LINES; valgrind then stops writing the trace (the program may be cut short)
  valgrind --tool=lackey --trace-mem=yes --log-fd=3 "$@" 3> >(head -n "$max" | xz -T0 -6 > "$out") || true
else
  valgrind --tool=lackey --trace-mem=yes --log-fd=3 "$@" 3> >(xz -T0 -6 > "$out")
fi
wait
echo "record.sh: wrote $out ($(du -h "$out" | cut -f1))" >&2
