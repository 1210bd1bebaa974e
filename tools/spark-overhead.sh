#!/usr/bin/env bash
# Spark local mode against the plain local sweep, paired: the same sweep through `kvmsim run` (the
# sweep's workers, one per processor) and `kvmsim sweep --spark --master local[N]` (N = the
# processors), alternating, 3 pairs each, the launcher's own java lines on a frozen copy of the
# jars (a rebuild mid-way would be timed otherwise). Prints wall and CPU time (GNU time) of each
# whole command and whether the outputs are identical. Usage: tools/spark-overhead.sh SCRIPT...
set -euo pipefail -f   # -f: the java lines hold spark-lib/*, for java, not the shell
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -gt 0 ] || { echo "usage: $0 SCRIPT..." >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
(cd "$here" && mvn -B -q -o -DskipTests -Dkvmsim.skipProtocolTests=true package)
work=$(mktemp -d /tmp/kvmsim-spark-overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$here/target/kvmsim.jar" "$here/target/lib" "$here/target/spark-lib" "$work/"
n=$(nproc)
for f in "$@"; do
  local_cmd=$(KVMSIM_LAUNCHER_DRY_RUN=1 "$here/kvmsim" run -q "$f" | sed "s#$here/target#$work#g")
  spark_cmd=$(KVMSIM_LAUNCHER_DRY_RUN=1 "$here/kvmsim" sweep --spark --master "local[$n]" -q "$f" | sed "s#$here/target#$work#g")
  for i in 1 2 3; do
    /usr/bin/time -f "$f local: wall %e s, user %U s, sys %S s" $local_cmd > "$work/local.out"
    /usr/bin/time -f "$f spark: wall %e s, user %U s, sys %S s" $spark_cmd > "$work/spark.out"
    if cmp -s "$work/local.out" "$work/spark.out"; then echo "$f: output identical"; else echo "$f: OUTPUT DIFFERS"; fi
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
