#!/usr/bin/env bash
# Builds the jar and test classes if needed, then runs bench-kernel.py with Debian's python3.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ ! -f "$root/target/kvmsim.jar" ] || [ ! -f "$root/target/test-classes/org/kvmsim/kernel/MinimalKernel.class" ]; then
  (cd "$root" && mvn -B -q -DskipTests package >&2)
fi
exec /usr/bin/python3 "$root/src/test/jupyter/bench-kernel.py" --root "$root" "$@"
