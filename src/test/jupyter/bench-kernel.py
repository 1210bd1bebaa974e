#!/usr/bin/python3
"""Benchmark (not a test) of the kvmsim kernel, run with Debian's /usr/bin/python3:

  start  : process start to kernel_info_reply, kvmsim kernel vs a minimal kernel on the same
           base library (MinimalKernel, the library's own loops), measured alternately;
  cell   : a small cell's round trip (execute_request sent to status idle), for both kernels.

Usage: src/test/jupyter/bench-kernel.sh [--starts N] [--cells N]   (builds what it needs)
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager
from jupyter_client.kernelspec import KernelSpecManager


def spec(dirs, name, argv):
    d = os.path.join(dirs, "kernels", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": argv, "display_name": name, "language": name, "interrupt_mode": "message"}, f)


def start_once(name):
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.kernel_info()
    while True:
        msg = kc.get_shell_msg(timeout=60)
        if msg["msg_type"] == "kernel_info_reply":
            break
    elapsed = time.perf_counter() - t0
    return elapsed, km, kc


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def round_trips(kc, code, n):
    out = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        msg_id = kc.execute(code)
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                break
        kc.get_shell_msg(timeout=60)
        if i >= 3:  # the first cells load classes
            out.append(time.perf_counter() - t0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--cells", type=int, default=50)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    root = a.root
    java = os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    flags = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=100", "-Xshare:auto"]  # KernelSpec.JVM_FLAGS
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JUPYTER_PATH"] = tmp
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
        spec(tmp, "kvmsim-bench", [java] + flags + ["-cp", os.path.join(root, "target", "kvmsim.jar"),
                                                     "org.kvmsim.kernel.KernelLauncher", "{connection_file}"])
        cp = os.pathsep.join([os.path.join(root, "target", "test-classes"), os.path.join(root, "target", "lib", "*")])
        spec(tmp, "minimal-bench", [java] + flags + ["-cp", cp, "org.kvmsim.kernel.MinimalKernel", "{connection_file}"])
        starts = {"kvmsim-bench": [], "minimal-bench": []}
        for i in range(a.starts):
            for name in (["kvmsim-bench", "minimal-bench"] if i % 2 == 0 else ["minimal-bench", "kvmsim-bench"]):
                t, km, kc = start_once(name)
                starts[name].append(t)
                stop(km, kc)
        cells = {}
        for name, code in (("kvmsim-bench", 'print "x"'), ("minimal-bench", "x")):
            _, km, kc = start_once(name)
            time.sleep(1.0)  # let the kvmsim kernel's background warm-up finish
            cells[name] = round_trips(kc, code, a.cells)
            stop(km, kc)
    med = {k: statistics.median(v) for k, v in starts.items()}
    print("start to kernel_info_reply, median of %d (alternating):" % a.starts)
    for k in starts:
        print("  %-14s %6.0f ms   (min %4.0f, max %4.0f)" % (k, med[k] * 1e3, min(starts[k]) * 1e3, max(starts[k]) * 1e3))
    print("  ratio kvmsim/minimal: %.2f" % (med["kvmsim-bench"] / med["minimal-bench"]))
    print("small cell round trip (execute_request to idle), median of %d:" % a.cells)
    for k, v in cells.items():
        print("  %-14s %6.1f ms   (p90 %5.1f)" % (k, statistics.median(v) * 1e3, sorted(v)[int(len(v) * 0.9)] * 1e3))


if __name__ == "__main__":
    sys.exit(main())
