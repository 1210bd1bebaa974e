#!/bin/bash
# Records real KSM merging real guests booted here under QEMU/TCG (issue #13), into
# OUT/CASE/ (default target/realguest/CASE/ in the project): ksm.jsonl, smaps.jsonl, case.json, knobs.jsonl
# and each guest's RAM blocks at the chosen moments (gI-TAG/BLOCK.bin and BLOCK.pagemap).
# usage: record.sh CASE [--guests N --mem MiB --pages-to-scan N --sleep-millisecs MS ...]
#        record.sh --help            (every option; CASE is a preset of record.py or a new name)
# Needs root. Installs what it needs from Debian (python3, qemu-system-x86, busybox-static),
# holds /run/lock/kvmsim-kernel-knobs.lock for the whole recording, logs the KSM/THP knobs
# before and after, and puts back every knob it changes, also when interrupted.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "record.sh: run as root" >&2; exit 1; }
[ $# -ge 1 ] || { sed -n '4,5p' "$0"; exit 2; }
# Debian's python3, not one first on PATH (the tool needs only its standard library)
if [ ! -x /usr/bin/python3 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 >&2
fi
exec /usr/bin/python3 "$(cd "$(dirname "$0")" && pwd)/record.py" "$@"
