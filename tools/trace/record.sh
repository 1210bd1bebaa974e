#!/usr/bin/env bash
# Records a program's memory accesses as a lackey trace kvmsim replays
# (workload NAME on VM { trace = "OUT" }), compressed as it is written, never whole on disk.
#
#   tools/trace/record.sh [-o OUT.lackey.zst] [-n MAX_LINES] PROGRAM [ARGS...]
#
# -o  where to write it (default: PROGRAM's name.lackey.zst in the current folder); zstd -19,
#     or xz -6 for a name ending in .xz, gzip -6 for .gz (zstd decompresses several times faster
#     than xz-java, which otherwise bounds a replay: traces/README.md)
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
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; fi
command -v valgrind >/dev/null || { echo "record.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[ -n "$out" ] || out="$(basename "$1").lackey.zst"
case "$out" in
  *.xz) pack=(xz -T0 -6); pkg=xz-utils ;;
  *.gz) pack=(gzip -6); pkg=gzip ;;
  *)    pack=(zstd -q -T0 -19); pkg=zstd ;;
esac
command -v "${pack[0]}" >/dev/null || { echo "record.sh: ${pack[0]} is not installed (apt-get install $pkg)" >&2; exit 2; }
# the compressor reads valgrind's log on fd 3; opened by exec so that $! is its pid, and the
# script waits for it to finish writing (a bare `wait` skips a process substitution)
if [ -n "$max" ]; then
  # head ends the pipe after MAX_LINES; valgrind then stops writing the trace (the program may be cut short)
  exec 3> >(head -n "$max" | "${pack[@]}" > "$out")
else
  exec 3> >("${pack[@]}" > "$out")
fi
packer=$!
status=0
valgrind --tool=lackey --trace-mem=yes --log-fd=3 "$@" || status=$?
exec 3>&-
wait "$packer" || true
echo "record.sh: wrote $out ($(du -h "$out" | cut -f1))" >&2
# the program's own exit status, unless cut short by -n (then valgrind may die of SIGPIPE)
[ -n "$max" ] || exit "$status"
