#!/usr/bin/python3
"""Records real KSM merging real guests: the recording half of issue #13 "Real guests".

What it does: builds a small guest (Debian's cloud kernel, taken from its .deb, and an initramfs of
busybox-static written here as a newc cpio), boots N guests under QEMU's TCG accelerator, sets the
host's KSM (and THP) knobs, starts ksmd once every guest has booted, and records the real KSM
counters after every full scan, the QEMU processes' smaps and /proc/vmstat's thp_* counters beside
them, and each guest's RAM blocks (bytes and, read first, the presence of every 4 KiB page) at
chosen moments. Output goes to OUT/CASE/ in the layout agreed with the import side (see
src/test/resources/fixtures/realguest/README.md; the cases committed there are presets here).

Why QEMU's RAM blocks and not only guest RAM: QEMU marks every RAM block it allocates
MADV_MERGEABLE over its whole max_length (softmmu/physmem.c, ram_block_add() ->
memory_try_enable_merging(), QEMU 7.2), so ksmd scans ROMs, video RAM and firmware tables as well
as the guest's RAM, and a resizeable block past its used_length. Every block is listed (`info
ramblock`), its guest-physical ranges taken from `info mtree -f`, its host mapping found among the
`mg` mappings of /proc/PID/smaps (locate_blocks()), and the whole mapping is dumped.

Why pagemap before bytes: ksmd skips PTEs that are not present or that map the shared zero page
(mm/ksm.c, scan_get_next_rmap_item(): folio_walk_start() fails or returns the zero page, and the
address is skipped without an rmap_item), but it does merge present anonymous pages full of zeros.
Reading a never-touched anonymous page, through /proc/PID/mem or through QEMU itself (pmemsave,
dump-guest-memory), faults in the shared zero page (or, in a MADV_HUGEPAGE range, the huge zero
page), which changes what ksmd and later guest writes see. So a dump freezes the guests (QMP
`stop`) and ksmd (run = 0: the write takes ksm_thread_mutex, so no batch is half done), reads
/proc/PID/pagemap and /proc/kpageflags for every block, then reads through /proc/PID/mem only the
pages that are present (the rest are zeros by definition), and thaws both. The frozen time is
recorded so wall times can be read without it.

Knobs: /sys/kernel/mm/ksm/{pages_to_scan, sleep_millisecs, use_zero_pages, max_page_sharing,
merge_across_nodes, smart_scan} and /sys/kernel/mm/transparent_hugepage/enabled, as a case says;
every writable KSM, THP and khugepaged knob is logged before and after (knobs.jsonl) and each one
this tool changed is put back, also on SIGINT/SIGTERM/SIGHUP. The whole recording holds
/run/lock/kvmsim-kernel-knobs.lock, as the project's other tools that touch the real kernel do.
Differences from a production host: guests run under TCG (this machine's /dev/kvm boots only PVM
guests), so guest time runs slower than real time and the vCPU is a host thread that competes with
ksmd for the same two cores; the numbers that matter (which pages are present, what they hold, what
ksmd merges) do not depend on the accelerator.
"""

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

KSM = "/sys/kernel/mm/ksm"
THP = "/sys/kernel/mm/transparent_hugepage"
LOCK = "/run/lock/kvmsim-kernel-knobs.lock"
PAGE = 4096
BOOT_MARK = "kvmsim-realguest: booted"
# The guest kernel's command line before a case's own parameters. no_timer_check: under TCG on a
# loaded host the guest's check that the IO-APIC timer ticks (arch/x86/kernel/apic/io_apic.c,
# timer_irq_works()) can fail and panic the boot ("IO-APIC + timer doesn't work!"); it happened
# here at a load average of 11. The parameter skips that check only.
BASE_CMDLINE = "console=ttyS0 quiet no_timer_check"

# Counters read after every full scan (read-only files of /sys/kernel/mm/ksm; those the running
# kernel lacks, general_profit and ksm_zero_pages being recent, are left out).
KSM_COUNTERS = ["full_scans", "pages_scanned", "pages_shared", "pages_sharing", "pages_unshared",
                "pages_volatile", "pages_skipped", "ksm_zero_pages", "stable_node_chains",
                "stable_node_dups", "general_profit"]
# Knobs logged before and after (the writable files; smart_scan is 6.7+, advisor_* 6.8+).
KSM_KNOBS = ["run", "pages_to_scan", "sleep_millisecs", "use_zero_pages", "max_page_sharing",
             "merge_across_nodes", "smart_scan", "stable_node_chains_prune_millisecs",
             "advisor_mode", "advisor_max_cpu", "advisor_min_pages_to_scan",
             "advisor_max_pages_to_scan", "advisor_target_scan_time"]
THP_KNOBS = ["enabled", "defrag", "use_zero_page", "shmem_enabled",
             "khugepaged/pages_to_scan", "khugepaged/scan_sleep_millisecs",
             "khugepaged/alloc_sleep_millisecs", "khugepaged/max_ptes_none",
             "khugepaged/max_ptes_swap", "khugepaged/max_ptes_shared", "khugepaged/defrag",
             "khugepaged/pages_collapsed", "khugepaged/full_scans"]
SMAPS_FIELDS = ["Size", "Rss", "Pss", "Anonymous", "AnonHugePages", "KSM", "Swap", "Private_Dirty",
                "Shared_Clean", "Shared_Dirty", "Private_Clean", "Referenced"]

# /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h).
KPF_KSM, KPF_THP, KPF_ZERO_PAGE = 21, 22, 24
# pagemap entries (Documentation/admin-guide/mm/pagemap.rst): bit 63 present, 62 swapped, 0-54 PFN.
PM_PRESENT, PM_SWAP, PM_PFN_MASK = 1 << 63, 1 << 62, (1 << 55) - 1

# The guest kernel the fixtures were recorded with (the newest bookworm cloud kernel apt offered
# here on 2026-12-06); a case without --kernel-package and not in CASES takes the newest offered.
FIXTURE_KERNEL = "linux-image-6.1.0-57-cloud-amd64"
# The cases committed under src/test/resources/fixtures/realguest/ (record.sh CASE reproduces one;
# every option can still be overridden on the command line). THP is "never" where a case is about
# KSM alone: with THP on, QEMU's MADV_HUGEPAGE makes the first touch of any 2 MiB of guest RAM
# allocate (and zero) all 512 pages, which ksmd then sees as present zero pages.
CASES = {
    "idle2": dict(guests=2, mem=256, pages_to_scan=1000, sleep_millisecs=20, use_zero_pages=0,
                  thp="never", scans=30, dump_at="boot,10,last"),
    "idle4-zero": dict(guests=4, mem=256, pages_to_scan=2000, sleep_millisecs=50, use_zero_pages=1,
                       thp="never", scans=25, dump_at="boot,last"),
    "initfree2": dict(guests=2, mem=256, pages_to_scan=500, sleep_millisecs=10, use_zero_pages=0,
                      thp="never", append="init_on_free=1", scans=30, dump_at="boot,last"),
    "initfree4-zero": dict(guests=4, mem=256, pages_to_scan=1000, sleep_millisecs=20,
                           use_zero_pages=1, thp="never", append="init_on_free=1", scans=25,
                           dump_at="boot,last"),
    "busy2": dict(guests=2, mem=256, pages_to_scan=1000, sleep_millisecs=20, use_zero_pages=0,
                  thp="never", scans=30, dump_at="boot,last",
                  run="dd if=/dev/zero of=/tmp/zeros bs=1M count=16 2>/dev/null; "
                      "(while :; do date > /tmp/now; sleep 1; done) &"),
    "thp2": dict(guests=2, mem=256, pages_to_scan=1000, sleep_millisecs=20, use_zero_pages=0,
                 thp="madvise", scans=30, dump_at="boot,last"),
}
DEFAULTS = dict(guests=2, mem=256, pages_to_scan=1000, sleep_millisecs=20, use_zero_pages=0,
                max_page_sharing=None, merge_across_nodes=None, smart_scan=None, thp="keep",
                append="", run="", scans=20, dump_at="boot,last", ksm_delay=0.0,
                qemu_opts="", kernel_package=None)


def log(msg):
    print("record: " + msg, file=sys.stderr, flush=True)


def die(msg, code=1):
    log(msg)
    sys.exit(code)


def rd(path):
    with open(path) as f:
        return f.read().strip()


def wr(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def selected(value):
    """The bracketed choice of a sysfs selector ("always [madvise] never"), else the value."""
    m = re.search(r"\[(\S+)\]", value)
    return m.group(1) if m else value


def knob_values():
    out = {}
    for n in KSM_KNOBS:
        p = os.path.join(KSM, n)
        if os.path.exists(p):
            out["ksm/" + n] = rd(p)
    for n in THP_KNOBS:
        p = os.path.join(THP, n)
        if os.path.exists(p):
            out["thp/" + n] = selected(rd(p))
    return out


def ksm_counters():
    out = {}
    for n in KSM_COUNTERS:
        p = os.path.join(KSM, n)
        if os.path.exists(p):
            out[n] = int(rd(p))
    return out


def vmstat_thp():
    out = {}
    with open("/proc/vmstat") as f:
        for line in f:
            k, v = line.split()
            if k.startswith("thp_") or k in ("nr_anon_transparent_hugepages",):
                out[k] = int(v)
    return out


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


class Knobs:
    """Sets KSM/THP knobs and remembers the old value of each one it changes, to put back."""

    def __init__(self):
        self.old = {}  # path -> value before (selected form for selectors)

    def set(self, path, value):
        cur = selected(rd(path))
        if path not in self.old:
            self.old[path] = cur
        if cur != str(value):
            wr(path, value)

    def restore(self):
        # merge_across_nodes can change only while nothing is merged (mm/ksm.c,
        # merge_across_nodes_store(): -EBUSY if ksm_pages_shared); run = 2 unmerges first.
        errors = []
        run_path = os.path.join(KSM, "run")
        items = sorted(self.old.items(), key=lambda kv: kv[0] == run_path)
        for path, value in items:
            try:
                if path.endswith("merge_across_nodes") and selected(rd(path)) != value:
                    wr(run_path, 2)
                if selected(rd(path)) != value:
                    wr(path, value)
            except OSError as e:
                errors.append("%s: %s" % (path, e))
        for e in errors:
            log("could not restore " + e)
        return not errors


# ---------------------------------------------------------------------------------------- guest

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def apt_install(pkgs):
    missing = [p for p in pkgs if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                                                  capture_output=True, text=True).stdout
               != "install ok installed"]
    if missing:
        log("installing " + " ".join(missing))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
                       check=True, env=env, stdout=sys.stderr)


def newest_cloud_kernel():
    """The newest signed linux-image-6.1.0-N-cloud-amd64 that apt offers."""
    out = subprocess.run(["apt-cache", "search", "--names-only",
                          r"^linux-image-6\.1\.0-[0-9]+-cloud-amd64$"],
                         capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    if not names:
        die("apt offers no linux-image-6.1.0-*-cloud-amd64 (is Debian bookworm in sources.list?)")
    return max(names, key=lambda n: int(n.split("-")[3]))


def build_kernel(cache, package):
    kdir = os.path.join(cache, package)
    done = os.path.join(kdir, "kernel.json")
    if not os.path.exists(done):
        os.makedirs(kdir, exist_ok=True)
        for old in glob.glob(os.path.join(kdir, "*.deb")):
            os.remove(old)
        r = subprocess.run(["apt-get", "download", package], cwd=kdir, capture_output=True,
                           text=True)
        debs = glob.glob(os.path.join(kdir, "*.deb"))
        if r.returncode != 0 or len(debs) != 1:
            die("apt-get download %s failed: %s" % (package, r.stderr.strip()))
        deb = debs[0]
        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        root = os.path.join(kdir, "root")
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        vmlinuz = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
        if len(vmlinuz) != 1:
            die("%s holds no single boot/vmlinuz-*" % deb)
        info = dict(package=package, version=version, deb=os.path.basename(deb),
                    deb_sha256=sha256(deb), vmlinuz=os.path.relpath(vmlinuz[0], kdir),
                    vmlinuz_sha256=sha256(vmlinuz[0]),
                    release=os.path.basename(vmlinuz[0])[len("vmlinuz-"):])
        with open(done, "w") as f:
            json.dump(info, f, indent=1, sort_keys=True)
    with open(done) as f:
        info = json.load(f)
    info["path"] = os.path.join(kdir, info["vmlinuz"])
    return info


INIT = """#!/bin/busybox sh
# kvmsim-realguest init: mount the kernel's file systems, run the case's snippet, then idle.
/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
[ -f /run.sh ] && . /run.sh
echo "%s $(cat /proc/uptime)" > /dev/console
while :; do sleep 3600; done
""" % BOOT_MARK


def cpio_newc(entries):
    """A newc ("070701") cpio archive, as the kernel's initramfs unpacker reads it
    (Documentation/driver-api/early-userspace/buffer-format.rst). entries: (name, mode, data,
    rdev major, rdev minor). mtime, uid, gid are 0 and inodes are numbered in order, so the
    archive's bytes depend on its contents only."""
    out = bytearray()

    def pad4():
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data, rmaj, rmin) in enumerate(entries + [("TRAILER!!!", 0, b"", 0, 0)],
                                                         start=1):
        nm = name.encode() + b"\0"
        fields = [ino if name != "TRAILER!!!" else 0, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj,
                  rmin, len(nm), 0]
        out.extend(b"070701" + b"".join(b"%08X" % v for v in fields))
        out.extend(nm)
        pad4()
        out.extend(data)
        pad4()
    out.extend(b"\0" * (-len(out) % 512))
    return bytes(out)


def build_initramfs(cache, run_snippet, add_files=()):
    busybox = "/bin/busybox"
    if not os.path.exists(busybox) or not is_static(busybox):
        die("/bin/busybox is not busybox-static's (it must run without a dynamic loader)")
    with open(busybox, "rb") as f:
        bb = f.read()
    entries = [("bin", 0o40755, b"", 0, 0), ("dev", 0o40755, b"", 0, 0),
               ("dev/console", 0o20600, b"", 5, 1), ("proc", 0o40755, b"", 0, 0),
               ("sys", 0o40755, b"", 0, 0), ("bin/busybox", 0o100755, bb, 0, 0),
               ("init", 0o100755, INIT.encode(), 0, 0)]
    if run_snippet:
        entries.append(("run.sh", 0o100644, (run_snippet + "\n").encode(), 0, 0))
    if add_files:
        # a program for the snippet to run (a static binary: the initramfs has no libc)
        entries.append(("opt", 0o40755, b"", 0, 0))
        for path in sorted(add_files, key=os.path.basename):
            with open(path, "rb") as f:
                body = f.read()
            mode = 0o100755 if os.access(path, os.X_OK) else 0o100644
            entries.append(("opt/" + os.path.basename(path), mode, body, 0, 0))
    data = cpio_newc(entries)
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(cache, "initramfs-%s.cpio" % digest[:16])
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    return dict(path=path, sha256=digest, busybox_sha256=hashlib.sha256(bb).hexdigest(),
                added={os.path.basename(p): hashlib.sha256(open(p, "rb").read()).hexdigest()
                       for p in add_files})


def is_static(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    return b"/lib64/ld-linux" not in head and b"/lib/ld-linux" not in head


# ----------------------------------------------------------------------------------------- QEMU

class Qmp:
    """A QMP client (docs/interop/qmp-spec.txt): greeting, qmp_capabilities, then one command at
    a time; asynchronous events are kept aside."""

    def __init__(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(600)
        self.buf = b""
        self.events = []
        self._line()  # greeting
        self.cmd("qmp_capabilities")

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise OSError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._line()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))
            return r["return"]

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line})


def parse_ramblocks(text):
    """`info ramblock` (QEMU 7.2, softmmu/physmem.c ram_block_format()): name, page size, ram_addr
    offset, used length, max length. (Later QEMUs add the host address; 7.2 does not, so
    locate_blocks() finds it.)"""
    blocks = []
    for line in text.splitlines():
        m = re.match(r"\s*(\S+)\s+(\d+ \S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*$",
                     line)
        if m:
            blocks.append(dict(name=m.group(1), page_size=m.group(2), ram_addr=int(m.group(3), 16),
                               size_bytes=int(m.group(4), 16), max_bytes=int(m.group(5), 16)))
    return blocks


def parse_flat_memory(text, blocks):
    """Guest-physical ranges of each RAM block from `info mtree -f`: the flat view of address space
    "memory" lists "START-END (prio P, ram|rom|romd): REGION [@OFFSET]"; a region's RAM block is
    named REGION or DEVICEPATH/REGION (qemu_ram_set_idstr())."""
    views = text.split("FlatView #")
    mem = [v for v in views if re.search(r'AS "memory"', v)]
    if not mem:
        return {}
    by_region = {}
    for b in blocks:
        by_region.setdefault(b["name"].rsplit("/", 1)[-1], []).append(b["name"])
    ranges = {}
    for line in mem[0].splitlines():
        m = re.match(r"\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, (ram|rom|romd)\): (\S+)"
                     r"(?: @([0-9a-f]+))?", line)
        if not m:
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        names = by_region.get(m.group(4), [])
        if len(names) != 1:
            continue
        off = int(m.group(5), 16) if m.group(5) else 0
        ranges.setdefault(names[0], []).append([start, off, end - start + 1])
    return ranges


def maps_of(pid):
    """/proc/PID/smaps entries: start, end, perms, and the entry's fields and VmFlags."""
    out = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) ", line)
            if m:
                cur = dict(start=int(m.group(1), 16), end=int(m.group(2), 16), perms=m.group(3),
                           fields={}, flags=[])
                out.append(cur)
                continue
            k, _, v = line.partition(":")
            if k == "VmFlags":
                cur["flags"] = v.split()
            elif cur is not None:
                cur["fields"][k] = int(v.split()[0]) if v.split() else 0
    return out


def block_smaps(smaps, blk):
    """Sum of the smaps fields (kB) of the mappings that cover a block's host range."""
    lo, hi = blk["hva"], blk["hva"] + blk["map_bytes"]
    tot = {}
    for m in smaps:
        if m["end"] <= lo or m["start"] >= hi:
            continue
        for k in SMAPS_FIELDS:
            if k in m["fields"]:
                tot[k] = tot.get(k, 0) + m["fields"][k]
    return tot


def proc_kv(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":") if ":" in line else line.partition(" ")
                v = v.split()
                if v:
                    try:
                        out[k.strip()] = int(v[0])
                    except ValueError:
                        pass
    except OSError:
        pass
    return out


class Guest:
    def __init__(self, idx, workdir, kernel, initrd, mem, append, extra):
        self.idx = idx
        self.qmp_path = os.path.join(workdir, "g%d.qmp" % idx)
        self.console = os.path.join(workdir, "g%d.console" % idx)
        self.argv = ["qemu-system-x86_64", "-name", "kvmsim-realguest-g%d" % idx, "-accel", "tcg",
                     "-m", str(mem), "-kernel", kernel, "-initrd", initrd,
                     "-append", (BASE_CMDLINE + " " + append).strip(), "-nographic",
                     "-serial", "file:" + self.console, "-monitor", "none",
                     "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path] + extra
        self.proc = None
        self.qmp = None
        self.started = None
        self.booted = None
        self.blocks = None

    def start(self):
        for p in (self.qmp_path, self.console):
            with contextlib.suppress(FileNotFoundError):
                os.remove(p)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=open(self.console + ".stdout", "wb"),
                                     stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def connect(self):
        self.qmp = Qmp(self.qmp_path, 60)

    def is_booted(self):
        if self.proc.poll() is not None:
            die("guest %d: QEMU exited with %s (see %s.stdout)" % (self.idx, self.proc.returncode,
                                                                  self.console))
        try:
            with open(self.console, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            return False
        if b"Kernel panic" in text:
            die("guest %d: the guest kernel panicked (see %s)" % (self.idx, self.console))
        return BOOT_MARK.encode() in text

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def locate_blocks(g):
    """Finds each block's host virtual address. QEMU maps every RAM block on its own (qemu_ram_mmap()
    reserves max_length plus alignment and leaves a PROT_NONE guard page after it), anonymous,
    private, read-write and MADV_MERGEABLE (VmFlag `mg`), so the candidates are the `mg` mappings
    of /proc/PID/smaps whose size is the block's max_length rounded to pages. A block mapped into
    guest-physical space is placed exactly by HMP `gpa2hva`; the others by size when only one
    candidate of that size is left; two PCI option ROMs or a ROM and a firmware table of one size
    are told apart by the option ROM signature 0x55 0xAA (PCI Firmware Specification 3.0, 5.1)
    in a present first page. Anything still ambiguous stops the recording: a wrong guess would
    dump one block's bytes under another's name."""
    smaps = maps_of(g.proc.pid)
    cands = [m for m in smaps if "mg" in m["flags"] and m["perms"].startswith("rw")]
    left = {m["start"]: m for m in cands}
    for b in g.blocks:
        b["hva"] = None
        if b["gpa_ranges"]:
            gpa, off, _ = b["gpa_ranges"][0]
            r = g.qmp.hmp("gpa2hva 0x%x" % gpa)
            m = re.search(r"\((\S+)\) is 0x([0-9a-f]+)", r)
            if not m or m.group(1) != b["name"].rsplit("/", 1)[-1]:
                die("guest %d: gpa2hva 0x%x: %r" % (g.idx, gpa, r))
            b["hva"] = int(m.group(2), 16) - off
            b["located_by"] = "gpa2hva"
            if b["hva"] not in left:
                die("guest %d: block %s at 0x%x is no mergeable mapping" % (g.idx, b["name"],
                                                                          b["hva"]))
            del left[b["hva"]]

    def size_of(m):
        return m["end"] - m["start"]

    def first_bytes(m):
        with open("/proc/%d/pagemap" % g.proc.pid, "rb") as f:
            e = struct.unpack("<Q", os.pread(f.fileno(), 8, m["start"] // PAGE * 8))[0]
        if not e & PM_PRESENT:
            return b""
        with open("/proc/%d/mem" % g.proc.pid, "rb") as f:
            return os.pread(f.fileno(), 2, m["start"])

    rest = [b for b in g.blocks if b["hva"] is None]
    for b in rest:
        want = -(-b["max_bytes"] // PAGE) * PAGE
        same = [m for m in left.values() if size_of(m) == want]
        if len(same) > 1:
            sig = [m for m in same if first_bytes(m) == b"\x55\xaa"]
            rivals = [c for c in rest if c is not b and c["hva"] is None and
                      -(-c["max_bytes"] // PAGE) * PAGE == want]
            if b["name"].endswith(".rom") and len(sig) == 1 and \
                    not any(c["name"].endswith(".rom") for c in rivals):
                same = sig
            elif not b["name"].endswith(".rom") and len(same) - len(sig) == 1 and \
                    all(c["name"].endswith(".rom") for c in rivals):
                same = [m for m in same if m not in sig]
            b["located_by"] = "size and option ROM signature"
        else:
            b["located_by"] = "size"
        if len(same) != 1:
            die("guest %d: cannot tell which mapping holds RAM block %s (%d candidates of 0x%x "
                "bytes); try -vga none or -net none in --qemu-opts" % (g.idx, b["name"], len(same),
                                                                       want))
        b["hva"] = same[0]["start"]
        del left[b["hva"]]
    for b in g.blocks:
        b["map_bytes"] = -(-b["max_bytes"] // PAGE) * PAGE
    for b in g.blocks:
        m = [x for x in smaps if x["start"] == b["hva"]][0]
        b["vmflags"] = m["flags"]
        b["mergeable"] = "mg" in m["flags"]
        b["hugepage_advised"] = "hg" in m["flags"]
    g.unclaimed_mergeable = sorted("0x%x+0x%x" % (m["start"], size_of(m)) for m in left.values())


def dump_block(pid, blk, dirpath, kpf):
    """Writes BLOCK.pagemap (read first) and BLOCK.bin (present pages only) for one RAM block's
    whole mapping: ksmd scans the VMA, not the block's used_length, and QEMU writes resizeable
    blocks beyond it (here /rom@etc/acpi/tables is 128 KiB used of 2 MiB, and all 512 pages of
    the mapping were present and merged)."""
    n = blk["map_bytes"] // PAGE
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        raw = os.pread(f.fileno(), 8 * n, (blk["hva"] // PAGE) * 8)
    entries = struct.unpack("<%dQ" % n, raw)
    pm = bytearray(n)
    counts = dict(not_present=0, anon=0, zero=0, thp=0, ksm=0, swapped=0)
    for i, e in enumerate(entries):
        if e & PM_SWAP:
            counts["swapped"] += 1  # no swap on the recording host; counted so it would show
        if not e & PM_PRESENT:
            counts["not_present"] += 1
            continue
        pfn = e & PM_PFN_MASK
        flags = struct.unpack("<Q", os.pread(kpf, 8, pfn * 8))[0]
        v = 2 if flags >> KPF_ZERO_PAGE & 1 else 1
        counts["zero" if v == 2 else "anon"] += 1
        if flags >> KPF_THP & 1:
            v |= 0x10
            counts["thp"] += 1
        if flags >> KPF_KSM & 1:
            counts["ksm"] += 1  # counted, not in the file (the agreed format has no KSM flag)
        pm[i] = v
    name = safe_name(blk["name"])
    with open(os.path.join(dirpath, name + ".pagemap"), "wb") as f:
        f.write(pm)
    data = bytearray(n * PAGE)
    with open("/proc/%d/mem" % pid, "rb") as mem:
        i = 0
        while i < n:
            if pm[i] & 0x0f != 1:
                i += 1
                continue
            j = i
            while j < n and pm[j] & 0x0f == 1:
                j += 1
            data[i * PAGE:j * PAGE] = os.pread(mem.fileno(), (j - i) * PAGE, blk["hva"] + i * PAGE)
            i = j
    with open(os.path.join(dirpath, name + ".bin"), "wb") as f:
        f.write(data)
    return counts


def safe_name(block_name):
    """A block name as a file name: '/' becomes '_' and leading '_' go (/rom@etc/acpi/tables ->
    rom@etc_acpi_tables, 0000:00:02.0/vga.vram -> 0000:00:02.0_vga.vram), as the import side
    (DumpImport.blockFile()) reads them."""
    s = block_name.replace("/", "_")
    return s.lstrip("_")


# ------------------------------------------------------------------------------------- recording

def main():
    ap = argparse.ArgumentParser(
        prog="record.sh", description="Record real KSM merging real TCG guests (issue #13).")
    ap.add_argument("case", help="case name; a preset (%s) or a new name with options" %
                    ", ".join(sorted(CASES)))
    ap.add_argument("--guests", type=int)
    ap.add_argument("--mem", type=int, help="guest memory, MiB")
    ap.add_argument("--append", help="extra guest kernel parameters, e.g. init_on_free=1")
    ap.add_argument("--run", help="shell snippet the guest's init sources before it idles")
    ap.add_argument("--add", action="append", default=[], metavar="FILE",
                    help="put FILE into the guest's /opt (e.g. a static program for --run)")
    ap.add_argument("--qemu-opts", help="extra QEMU options (e.g. '-vga none -net none')")
    ap.add_argument("--pages-to-scan", type=int)
    ap.add_argument("--sleep-millisecs", type=int)
    ap.add_argument("--use-zero-pages", type=int, choices=[0, 1])
    ap.add_argument("--max-page-sharing", type=int)
    ap.add_argument("--merge-across-nodes", type=int, choices=[0, 1])
    ap.add_argument("--smart-scan", type=int, choices=[0, 1])
    ap.add_argument("--thp", choices=["always", "madvise", "never", "keep"])
    ap.add_argument("--scans", type=int, help="full scans to record")
    ap.add_argument("--dump-at", help="comma list: boot (before ksmd starts), N (after full "
                    "scan N), last")
    ap.add_argument("--ksm-delay", type=float, help="seconds between all booted and ksmd start")
    ap.add_argument("--kernel-package", help="guest kernel package (default: the newest "
                    "linux-image-6.1.0-*-cloud-amd64 apt offers)")
    ap.add_argument("--elf", action="store_true", help="also write guest.elf (dump-guest-memory) "
                    "at the last dump, after the recording ends (it faults in every page)")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/kvmsim-realguest"))
    # beside the build's output: several GB of dumps a case, which `mvn clean` may take away
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "..", "target", "realguest"))
    ap.add_argument("--boot-timeout", type=float, default=600)
    ap.add_argument("--scan-timeout", type=float, default=600,
                    help="seconds to wait for one full scan")
    a = ap.parse_args()

    cfg = dict(DEFAULTS)
    if a.case in CASES:
        cfg["kernel_package"] = FIXTURE_KERNEL
        cfg.update(CASES[a.case])
    for k in DEFAULTS:
        v = getattr(a, k, None)
        if v is not None:
            cfg[k] = v
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", a.case):
        die("case name %r: letters, digits, '.', '_', '-' only" % a.case, 2)
    dump_at = []
    for d in cfg["dump_at"].split(","):
        d = d.strip()
        if d in ("boot", "last") or d.isdigit():
            dump_at.append(d)
        elif d:
            die("--dump-at: %r is not boot, last or a scan number" % d, 2)
    if os.geteuid() != 0:
        die("run as root (it writes /sys/kernel/mm/ksm and reads /proc/PID/pagemap)")
    if not os.path.isdir(KSM):
        die("this kernel has no KSM (/sys/kernel/mm/ksm)")

    apt_install(["qemu-system-x86", "busybox-static"])
    os.makedirs(a.cache, exist_ok=True)
    package = cfg["kernel_package"] or newest_cloud_kernel()
    kernel = build_kernel(a.cache, package)
    for p in a.add:
        if not os.path.isfile(p):
            die("--add %s: no such file" % p, 2)
    initrd = build_initramfs(a.cache, cfg["run"], a.add)
    log("guest kernel %s %s, initramfs %s" % (package, kernel["version"], initrd["sha256"][:16]))

    out = os.path.join(a.out, a.case)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    lockf = open(LOCK, "w")
    log("waiting for " + LOCK)
    fcntl.flock(lockf, fcntl.LOCK_EX)
    knobs = Knobs()
    guests = []
    knob_log = open(os.path.join(out, "knobs.jsonl"), "w")

    def log_knobs(tag):
        line = dict(knobs=tag, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    loadavg=rd("/proc/loadavg").split()[:3])
        line.update(knob_values())
        knob_log.write(json.dumps(line) + "\n")
        knob_log.flush()
        return line

    case = None
    rc = 0
    try:
        before = log_knobs("before")
        # Start from an empty KSM: run = 2 unmerges every page and drops every rmap_item, and
        # leaves the scan cursor at the head of the mm list (mm/ksm.c,
        # unmerge_and_remove_all_rmap_items()), so the first full scan counted is a whole one.
        knobs.set(os.path.join(KSM, "run"), 2)
        knobs.set(os.path.join(KSM, "run"), 0)
        for n in ("pages_to_scan", "sleep_millisecs", "use_zero_pages", "max_page_sharing",
                  "merge_across_nodes", "smart_scan"):
            if cfg[n] is not None:
                p = os.path.join(KSM, n)
                if not os.path.exists(p):
                    die("this kernel has no %s" % p)
                knobs.set(p, cfg[n])
        if cfg["thp"] != "keep":
            knobs.set(os.path.join(THP, "enabled"), cfg["thp"])
        log_knobs("set")

        workdir = os.path.join(out, "run")
        os.makedirs(workdir)
        extra = shlex.split(cfg["qemu_opts"])
        guests = [Guest(i, workdir, kernel["path"], initrd["path"], cfg["mem"], cfg["append"],
                        extra) for i in range(cfg["guests"])]
        vm0 = vmstat_thp()
        t_launch = time.monotonic()
        for g in guests:
            g.start()
        for g in guests:
            g.connect()
        deadline = time.monotonic() + a.boot_timeout
        while any(g.booted is None for g in guests):
            for g in guests:
                if g.booted is None and g.is_booted():
                    g.booted = time.monotonic()
                    log("guest %d booted after %.1f s" % (g.idx, g.booted - g.started))
            if time.monotonic() > deadline:
                die("guests not booted within %d s" % a.boot_timeout)
            time.sleep(0.05)

        blocks_info = []
        for g in guests:
            text = g.qmp.hmp("info ramblock")
            g.blocks = parse_ramblocks(text)
            if not g.blocks:
                die("guest %d: could not read `info ramblock`:\n%s" % (g.idx, text))
            mt = g.qmp.hmp("info mtree -f")
            ranges = parse_flat_memory(mt, g.blocks)
            for b in g.blocks:
                b["gpa_ranges"] = ranges.get(b["name"], [])
            locate_blocks(g)
            if g.unclaimed_mergeable:
                log("guest %d: mergeable mappings that are no RAM block: %s"
                    % (g.idx, g.unclaimed_mergeable))
            if g.idx == 0:
                with open(os.path.join(out, "ramblock.txt"), "w") as f:
                    f.write(text)
                with open(os.path.join(out, "mtree.txt"), "w") as f:
                    f.write(mt)
            layout = [(b["name"], b["size_bytes"], b["max_bytes"]) for b in g.blocks]
            if blocks_info and layout != blocks_info:
                die("guests registered different RAM blocks: %s vs %s" % (blocks_info, layout))
            blocks_info = layout
        qemu_version = guests[0].qmp.cmd("query-version")
        machine = guests[0].qmp.hmp("info qom-tree /machine").splitlines()[0] \
            if guests else ""

        dumps = []
        frozen_total = [0.0]  # guests frozen for dumps since launch
        frozen_ksm = [0.0]    # of which after ksmd started
        ksm_start = [None]
        kpf = os.open("/proc/kpageflags", os.O_RDONLY)

        def dump(tag, scan_no, last):
            t = time.monotonic()
            ksm_ran = rd(os.path.join(KSM, "run")) == "1"
            if ksm_ran:
                wr(os.path.join(KSM, "run"), 0)
            for g in guests:
                g.qmp.cmd("stop")
            full = ksm_counters().get("full_scans")
            for g in guests:
                d = os.path.join(out, "g%d-%s" % (g.idx, tag))
                os.makedirs(d, exist_ok=True)
                per_block = {}
                for b in g.blocks:
                    per_block[b["name"]] = dump_block(g.proc.pid, b, d, kpf)
                ent = dict(guest=g.idx, tag=tag,
                           seconds_since_boot=round(t - g.started - frozen_total[0], 3),
                           seconds_since_booted=round(t - g.booted - frozen_total[0], 3),
                           seconds_since_ksm_start=None if ksm_start[0] is None
                           else round(t - ksm_start[0] - frozen_ksm[0], 3),
                           ksm_full_scans_at_dump=scan_no, ksm_full_scans_counter=full,
                           pages=per_block)
                if a.elf and last:
                    g.qmp.cmd("dump-guest-memory", paging=False,
                              protocol="file:" + os.path.join(d, "guest.elf"))
                    ent["elf"] = "guest.elf"
                dumps.append(ent)
            if not last:
                for g in guests:
                    g.qmp.cmd("cont")
                if ksm_ran:
                    wr(os.path.join(KSM, "run"), 1)
            dt = time.monotonic() - t
            frozen_total[0] += dt
            if ksm_start[0] is not None:
                frozen_ksm[0] += dt
            log("dump %s took %.1f s" % (tag, dt))

        if cfg["ksm_delay"]:
            time.sleep(cfg["ksm_delay"])
        if "boot" in dump_at:
            dump("boot", 0, False)

        ksm_log = open(os.path.join(out, "ksm.jsonl"), "w")
        smaps_log = open(os.path.join(out, "smaps.jsonl"), "w")
        base = ksm_counters()["full_scans"]

        def record(scan_no, tag, t):
            c = ksm_counters()  # first: the counters right after the scan ended
            ks = t - ksm_start[0] - frozen_ksm[0]
            line = dict(scan=scan_no, tag=tag, t_ksm=round(ks, 3),
                        t_boot=round(t - t_launch - frozen_total[0], 3))
            c["full_scans"] -= base
            line.update(c)
            ksm_log.write(json.dumps(line) + "\n")
            ksm_log.flush()
            vm = vmstat_thp()
            sm = dict(scan=scan_no, tag=tag, t_ksm=line["t_ksm"], guests=[],
                      vmstat_delta={k: vm[k] - vm0.get(k, 0) for k in sorted(vm)})
            for g in guests:
                smaps = maps_of(g.proc.pid)
                roll = proc_kv("/proc/%d/smaps_rollup" % g.proc.pid)
                sm["guests"].append(dict(
                    guest=g.idx, pid=g.proc.pid,
                    rollup={k: roll[k] for k in SMAPS_FIELDS if k in roll},
                    ram={b["name"]: block_smaps(smaps, b) for b in g.blocks},
                    ksm_stat=proc_kv("/proc/%d/ksm_stat" % g.proc.pid)))
            smaps_log.write(json.dumps(sm) + "\n")
            smaps_log.flush()
            return line

        t = time.monotonic()
        ksm_start[0] = t
        wr(os.path.join(KSM, "run"), 1)
        record(0, "start", t)
        log("ksmd started")
        scan_no = 0
        last_seen = base
        while scan_no < cfg["scans"]:
            deadline = time.monotonic() + a.scan_timeout
            while True:
                fs = int(rd(os.path.join(KSM, "full_scans")))
                if fs != last_seen:
                    break
                if time.monotonic() > deadline:
                    die("no full scan within %d s" % a.scan_timeout)
                time.sleep(0.005)
            t = time.monotonic()
            if fs - last_seen > 1:
                log("missed %d full scans between polls" % (fs - last_seen - 1))
            last_seen = fs
            scan_no = fs - base
            line = record(scan_no, "scan", t)
            log("scan %d: shared %d sharing %d unshared %d volatile %d" % (
                scan_no, line["pages_shared"], line["pages_sharing"], line["pages_unshared"],
                line["pages_volatile"]))
            is_last = scan_no >= cfg["scans"]
            if str(scan_no) in dump_at or (is_last and "last" in dump_at):
                dump("scan%d" % scan_no, scan_no, is_last)
        ksm_log.close()
        smaps_log.close()
        os.close(kpf)

        case = dict(
            case=a.case, format=1,
            command=" ".join(shlex.quote(x) for x in ["tools/realguest/record.sh"] + sys.argv[1:]),
            qemu_command_lines=[[x if x not in (kernel["path"], initrd["path"]) else
                                 ("VMLINUZ" if x == kernel["path"] else "INITRAMFS")
                                 for x in g.argv] for g in guests],
            qemu_version="%d.%d.%d%s" % (qemu_version["qemu"]["major"],
                                         qemu_version["qemu"]["minor"],
                                         qemu_version["qemu"]["micro"],
                                         qemu_version.get("package", "")),
            qemu_machine=machine,
            host=dict(kernel=platform.release(), machine=platform.machine(),
                      cpus=os.cpu_count(), mem_total_kb=proc_kv("/proc/meminfo").get("MemTotal")),
            guest_kernel=dict((k, kernel[k]) for k in ("package", "version", "release",
                                                       "deb_sha256", "vmlinuz_sha256")),
            guest_kernel_cmdline=(BASE_CMDLINE + " " + cfg["append"]).strip(),
            initramfs=dict(sha256=initrd["sha256"], busybox_sha256=initrd["busybox_sha256"],
                           busybox_package=subprocess.run(
                               ["dpkg-query", "-W", "-f=${Package} ${Version}", "busybox-static"],
                               capture_output=True, text=True).stdout,
                           init=INIT, run=cfg["run"], added=initrd["added"]),
            memory_mib=cfg["mem"], guests=cfg["guests"],
            ksm=dict(pages_to_scan=int(rd(os.path.join(KSM, "pages_to_scan"))),
                     sleep_millisecs=int(rd(os.path.join(KSM, "sleep_millisecs"))),
                     use_zero_pages=int(rd(os.path.join(KSM, "use_zero_pages"))),
                     max_page_sharing=int(rd(os.path.join(KSM, "max_page_sharing"))),
                     merge_across_nodes=int(rd(os.path.join(KSM, "merge_across_nodes"))),
                     smart_scan=int(rd(os.path.join(KSM, "smart_scan")))
                     if os.path.exists(os.path.join(KSM, "smart_scan")) else None,
                     advisor_mode=selected(rd(os.path.join(KSM, "advisor_mode")))
                     if os.path.exists(os.path.join(KSM, "advisor_mode")) else None,
                     start="after every guest booted + %s s" % cfg["ksm_delay"]),
            thp=dict(enabled=selected(rd(os.path.join(THP, "enabled"))),
                     defrag=selected(rd(os.path.join(THP, "defrag"))),
                     use_zero_page=int(rd(os.path.join(THP, "use_zero_page")))),
            scans=cfg["scans"],
            ramblocks=[dict(name=b["name"], size_bytes=b["map_bytes"],
                            used_bytes=b["size_bytes"], max_bytes=b["max_bytes"],
                            page_size=b["page_size"],
                            mergeable=b["mergeable"],
                            hugepage_advised=b["hugepage_advised"], vmflags=b["vmflags"],
                            file=safe_name(b["name"]), gpa_ranges=b["gpa_ranges"],
                            located_by=b["located_by"])
                       for b in guests[0].blocks],
            guest_times=[dict(guest=g.idx, boot_seconds=round(g.booted - g.started, 3))
                         for g in guests],
            frozen_seconds=round(frozen_total[0], 3),
            dumps=dumps,
            pagemap_values={"0": "not present", "1": "present anonymous page",
                            "2": "maps the shared zero page or the huge zero page",
                            "0x10": "flag: the page is part of a THP"},
            notes=["ramblocks[].size_bytes is the block's whole host mapping (max_length in "
                   "pages), which ksmd scans; used_bytes is QEMU's used_length",
                   "dumps[].pages counts per block: not_present, anon, zero (zero page mapped), "
                   "thp, ksm (a KSM page: merged), swapped"])
        with open(os.path.join(out, "case.json"), "w") as f:
            json.dump(case, f, indent=1)
            f.write("\n")
    except Interrupted as e:
        log("interrupted (%s): stopping guests, restoring knobs" % e)
        rc = 130
    finally:
        for g in guests:
            g.stop()
        # What the guests merged is freed with them; run back to what it was, then the rest.
        ok = knobs.restore()
        after = log_knobs("after")
        knob_log.close()
        changed = {k: (before[k], after[k]) for k in before
                   if k.startswith(("ksm/", "thp/")) and before[k] != after.get(k)
                   and not k.endswith(("full_scans", "pages_collapsed"))}
        if changed:
            log("knobs differ from before: %s" % changed)
        if not ok and rc == 0:
            rc = 1
        fcntl.flock(lockf, fcntl.LOCK_UN)
    if rc == 0 and case is not None:
        open(os.path.join(out, "DONE"), "w").close()
        log("done: " + out)
    return rc


if __name__ == "__main__":
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        sys.exit(main())
    except Interrupted as e:
        # before the recording took the lock (building the guest): nothing to restore
        die("interrupted (%s)" % e, 130)
