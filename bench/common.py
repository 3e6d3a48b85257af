"""Shared by the benchmarks: which tree is measured, the harness, machine load, percentiles."""
from __future__ import annotations

import importlib.util
import math
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stop_cleanly_on_sigterm() -> None:
    """SIGTERM (and SIGINT, which a background job ignores) unwind like Ctrl-C: the line is stopped."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def use_tree(tree: str | None) -> str:
    """Make `import smsline` load the tree under test (default: this checkout). Returns its path.

    The harness (tests/lineprocs.py) always comes from this checkout; it runs the
    tree's Procfile with the tree as the working directory.
    """
    tree = os.path.abspath(tree or ROOT)
    if tree in sys.path:
        sys.path.remove(tree)
    sys.path.insert(0, tree)
    for name in [m for m in sys.modules if m == "smsline" or m.startswith("smsline.")]:
        del sys.modules[name]
    return tree


def harness():
    """tests/lineprocs.py of this checkout, loaded by path (so a --tree's own tests/ never shadows it).

    Its own imports, tests/signing.py and tests/standin.py, are loaded by path first, under the names it imports.
    """
    for part in ("signing", "standin", "lineprocs"):
        name = f"tests.{part}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tests", f"{part}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["tests.lineprocs"]


def line_kwargs(tree: str) -> dict:
    return {"procfile": os.path.join(tree, "Procfile"), "cwd": tree}


def revision(tree: str) -> str:
    """The commit of the tree, with '+dirty' when smsline/ or the Procfile differ from it."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "smsline", "worker.py", "Procfile"],
                               cwd=tree, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not rev:
        marker = os.path.join(tree, ".bench-revision")  # a `git archive` export names its commit here
        if os.path.exists(marker):
            with open(marker) as f:
                return f.read().strip()
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_for_quiet_machine(max_load: float | None, max_wait: float) -> float:
    """Wait (up to max_wait s) until the 1-minute load average is below max_load; returns it."""
    load = loadavg()
    if max_load is None:
        return load
    deadline = time.monotonic() + max_wait
    told = False
    while load > max_load and time.monotonic() < deadline:
        if not told:
            log(f"machine busy (load {load:.1f} > {max_load}); waiting up to {max_wait:.0f} s for it to settle")
            told = True
        time.sleep(5)
        load = loadavg()
    return load


class LoadSampler:
    """Samples the 1-minute load average and the CPU time other processes used, once a second."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="load-sampler")

    def _run(self):
        while not self._stop.wait(1.0):
            self.samples.append(loadavg())

    def __enter__(self):
        self.samples.append(loadavg())
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else float("nan")

    @property
    def peak(self) -> float:
        return max(self.samples) if self.samples else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        mem_kb = 0
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, Python {sys.version.split()[0]}"


def proc_stats() -> dict[int, tuple[int, float, float]]:
    """pid -> (parent pid, CPU seconds of the process, of its reaped children) for every process (/proc)."""
    tick, table = os.sysconf("SC_CLK_TCK"), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick,
                                 (int(fields[13]) + int(fields[14])) / tick)
        except (OSError, ValueError, IndexError):
            continue
    return table


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process on the machine: pid -> (short command line, seconds)."""
    out = {}
    for pid, (_, own, _) in proc_stats().items():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out[pid] = (cmd[-70:] or "?", own)
    return out


def cpu_used(before: dict, after: dict, top: int = 8) -> list[tuple[str, float]]:
    """The processes that used the most CPU between two snapshots, as (command line, seconds)."""
    used = [(cmd, secs - before.get(pid, (cmd, 0.0))[1]) for pid, (cmd, secs) in after.items()]
    return sorted((u for u in used if u[1] > 0), key=lambda u: -u[1])[:top]
