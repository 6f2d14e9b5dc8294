"""Learners on one machine: each learner's peak memory and wall time, alone and side by side.

    .venv/bin/python benchmarks/bench_workshop.py [--learners 4] [--profile quick] [--only 05,06]
                                                  [--skip-alone]          (make workshop)

A learner is what a workshop seat runs: an offline server of its own (its state directory and
port; the emulator and its execution environments), and a cell runner standing in for
JupyterLab's server, which runs the series one chapter at a time, each in a kernel of its own
started for it and stopped after it, as a learner opening the notebooks in turn would.

Memory is each process tree's proportional set size (PSS: a page shared by several processes
counts a share to each, so the sum over learners is what the machine holds), sampled every
0.2 s: the runner, its kernel, the offline server and its execution environments. The peak of
their sum is the learner's footprint.

First one learner runs alone (``--skip-alone`` leaves that out), then ``--learners`` side by side;
printed per learner: peak memory (and its parts at that moment), wall time, and the slowdown
against the learner alone; then the machine's totals (the peak of all learners together, the
least MemAvailable seen, the load). Nothing is sent anywhere but loopback; a running server of
yours is left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import free_port

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_S = 0.2


# ---------------------------------------------------------------- memory of process trees

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_mb(pid: int) -> float:
    """One process's proportional set size, in MB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def function_of(pid: int) -> str:
    """The Lambda function an execution environment runs (its AWS_LAMBDA_FUNCTION_NAME)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
                    return item.split(b"=", 1)[1].decode()
    except OSError:
        pass
    return "?"


def environments_mb(server_pid: int | None, kids) -> dict[str, float]:
    """The execution environments' memory, by function."""
    by_function: dict[str, float] = {}
    if server_pid:
        for pid in _tree(server_pid, kids)[1:]:
            name = function_of(pid)
            by_function[name] = by_function.get(name, 0.0) + pss_mb(pid)
    return by_function


def parts_mb(runner_pid: int, server_pid: int | None, kids) -> dict[str, float]:
    """The learner's memory by part: the runner, its kernels, the server, its environments."""
    parts = {"runner": 0.0, "kernel": 0.0, "server": 0.0, "environments": 0.0}
    served = set(_tree(server_pid, kids)) if server_pid else set()
    for pid in served:
        parts["server" if pid == server_pid else "environments"] += pss_mb(pid)
    for pid in _tree(runner_pid, kids):  # the server may be the runner's child: counted once, above
        if pid not in served:
            parts["runner" if pid == runner_pid else "kernel"] += pss_mb(pid)
    return parts


# ---------------------------------------------------------------- one learner (a subprocess)

def run_learner(home: Path, port: int, profile: str, only: list[str] | None, out: Path) -> dict:
    """The learner's own run: start its server, then each chapter in a kernel of its own."""
    os.environ["SQSLAB_HOME"] = str(home)
    os.environ["SQSLAB_OFFLINE_PORT"] = str(port)
    from sqslab.offline.server import control as server
    from sqslab.series import tutorial

    t0 = time.monotonic()
    server.start()
    chapters = []
    try:
        for nb in tutorial.notebooks():
            if only and nb.stem[:2] not in only and nb.stem not in only:
                continue
            t, started = time.monotonic(), time.time()
            params = {"target": "offline", "stack_name": "sqslab", "profile": profile}
            error = None
            try:
                tutorial.execute(nb, out / nb.name, params)  # a kernel started for it, stopped after it
            except Exception as exc:  # recorded: the benchmark reports it and goes on
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
            chapters.append({"notebook": nb.stem, "seconds": time.monotonic() - t, "error": error,
                             "from": started, "to": time.time()})
    finally:
        server.stop()
    return {"wall": time.monotonic() - t0, "chapters": chapters}


# ---------------------------------------------------------------- the benchmark

class Learner:
    def __init__(self, index: int, base: Path, profile: str, only: list[str] | None, verbose: bool = False):
        self.index = index
        self.home = base / f"learner{index}" / "home"
        self.out = base / f"learner{index}" / "out"
        self.out.mkdir(parents=True)
        self.port = free_port()
        cmd = [sys.executable, __file__, "--one", "--home", str(self.home), "--port", str(self.port),
               "--out", str(self.out), "--profile", profile]
        if only:
            cmd += ["--only", ",".join(only)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.peak = 0.0
        self.peak_parts: dict[str, float] = {}
        self.peak_at = 0.0
        self.peak_functions: dict[str, float] = {}
        self.verbose = verbose
        self.result: dict | None = None

    def server_pid(self) -> int | None:
        try:
            return int(json.loads((self.home / "offline" / "server.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def sample(self, kids) -> float:
        parts = parts_mb(self.proc.pid, self.server_pid(), kids)
        total = sum(parts.values())
        if total > self.peak:
            self.peak, self.peak_parts, self.peak_at = total, parts, time.time()
            if self.verbose:
                self.peak_functions = environments_mb(self.server_pid(), kids)
        return total

    def finish(self) -> None:
        stdout, _ = self.proc.communicate()
        self.result = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {"wall": None, "chapters": []}


def _mem_available_mb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_room(n: int, profile: str, only: list[str] | None, verbose: bool = False) -> dict:
    """``n`` learners side by side; their peaks, walls, and the machine's totals."""
    with tempfile.TemporaryDirectory(prefix="sqslab-workshop-") as tmp:
        learners = [Learner(i + 1, Path(tmp), profile, only, verbose) for i in range(n)]
        machine_peak, least_available = 0.0, _mem_available_mb()
        load_samples = []
        stop = threading.Event()

        def sampler():
            nonlocal machine_peak, least_available
            while not stop.is_set():
                kids = _children_map()
                total = sum(learner.sample(kids) for learner in learners)
                machine_peak = max(machine_peak, total)
                least_available = min(least_available, _mem_available_mb())
                load_samples.append(os.getloadavg()[0])
                stop.wait(SAMPLE_S)

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        for learner in learners:
            learner.finish()
        stop.set()
        thread.join()
    return {"learners": learners, "machine_peak": machine_peak, "least_available": least_available,
            "load_max": max(load_samples, default=0.0)}


def report(title: str, room: dict, alone_wall: float | None) -> None:
    print(f"\n{title}")
    for learner in room["learners"]:
        res = learner.result or {}
        wall = res.get("wall")
        failed = [c["notebook"] for c in res.get("chapters", []) if c["error"]]
        parts = ", ".join(f"{k} {v:.0f}" for k, v in learner.peak_parts.items())
        during = next((c["notebook"] for c in res.get("chapters", []) if c["from"] <= learner.peak_at <= c["to"]),
                      "between chapters")
        parts += f"; during {during}"
        slow = f" ({wall / alone_wall:.2f} x alone)" if wall and alone_wall else ""
        print(f"  learner {learner.index}: peak {learner.peak:.0f} MB ({parts}); "
              f"{len(res.get('chapters', []))} chapters in {wall or 0:.0f} s{slow}"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
        if learner.peak_functions:
            print("    environments at the peak, by function (MB): " + ", ".join(
                f"{name} {mb:.0f}" for name, mb in sorted(learner.peak_functions.items(), key=lambda kv: -kv[1])))
    print(f"  machine: all learners together at most {room['machine_peak']:.0f} MB; least MemAvailable "
          f"{room['least_available']:.0f} MB; highest 1-min load {room['load_max']:.1f} on {os.cpu_count()} cores")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, default=4)
    ap.add_argument("--profile", default="quick", choices=["quick", "article"])
    ap.add_argument("--only", default="", help="chapters by number, e.g. 05,06 (default: the whole series)")
    ap.add_argument("--skip-alone", action="store_true", help="leave out the run of one learner alone")
    ap.add_argument("--by-function", action="store_true", help="at each learner's peak, its environments by function")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    only = [c.strip() for c in args.only.split(",") if c.strip()] or None
    if args.one:
        print(json.dumps(run_learner(Path(args.home), args.port, args.profile, only, Path(args.out))), flush=True)
        return 0
    if args.learners < 1:
        ap.error("--learners must be 1 or more")
    what = f"chapters {', '.join(only)}" if only else "the whole series"
    print(f"{what}, {args.profile} profile; each learner: its own offline server, and each chapter in a kernel "
          "of its own; memory as PSS (MB), sampled every 0.2 s")
    alone_wall = None
    failed = False
    if not args.skip_alone:
        alone = run_room(1, args.profile, only, args.by_function)
        report("one learner alone", alone, None)
        alone_wall = alone["learners"][0].result.get("wall")
        failed |= any(c["error"] for c in alone["learners"][0].result["chapters"])
    if args.learners > 1 or args.skip_alone:
        room = run_room(args.learners, args.profile, only, args.by_function)
        report(f"{args.learners} learners side by side", room, alone_wall)
        failed |= any(c["error"] for learner in room["learners"] for c in learner.result["chapters"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
