"""Pools of execution environments, one per function, reused the way Lambda reuses them.

- An idle environment built from the same function configuration (code,
  handler, settings, variables: :attr:`FunctionSpec.fingerprint`) is reused
  while warm, so module-level state survives between invokes.
- The first invoke, an invoke after a code or configuration change, and an
  invoke that finds every environment busy start a new one (a cold start).
- Idle environments are capped per function and in all, and stopped after
  ``SQSLAB_IDLE_TTL_S`` seconds (900 by default), since Lambda reclaims idle
  environments too; beyond the total cap, those idle longest go first. A cold
  start stops the idle environments beyond :data:`IDLE_AT_COLD_START` first.
- Deployment packages are unpacked once per code digest under the state
  directory; a function's layers are unpacked in its order into one directory
  per set of layer versions (Lambda's ``/opt``: a later layer's file replaces an
  earlier one's), read-only and within Lambda's quota
  (:mod:`sqslab.offline.awslambda.code_package`); the runtime's libraries are gathered once
  (:mod:`sqslab.offline.awslambda.runtime_libs`). Packages no function uses any longer are
  removed (:meth:`Pool.sweep`).
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from pathlib import Path

from sqslab.offline import settings
from sqslab.offline.awslambda import code_package, runtime_libs
from sqslab.offline.awslambda.environment import Environment, FunctionSpec

MAX_IDLE_PER_FUNCTION = 8
MAX_IDLE_TOTAL = 32  # beyond this, the environments idle longest are stopped first
# A cold start first stops the idle environments beyond this many, longest idle first: a new
# function's work (the next chapter's) takes the place of what waits idle (the last chapter's),
# so one learner's environments stay few. Lambda reclaims idle environments too, by no rule it documents.
IDLE_AT_COLD_START = 4


class Pool:
    """Pools of execution environments, keyed by function ARN."""

    def __init__(self, endpoint_url: str, state_dir: Path):
        self.endpoint_url = endpoint_url
        self.state_dir = Path(state_dir)
        self.code_dir = self.state_dir / "code"
        self.opt_dir = self.state_dir / "opt"
        self.home_dir = self.state_dir / "home"
        self.home_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._idle: dict[str, list[Environment]] = {}
        self._busy: set[Environment] = set()

    def task_root(self, spec: FunctionSpec, code: bytes) -> Path:
        """The unpacked deployment package, one directory per code digest."""
        return code_package.unpack(self.code_dir / spec.code_sha[:32], [code])

    @staticmethod
    def layers_key(spec: FunctionSpec) -> str:
        """The folder name of a function's unpacked layers (one per set of layer versions, in order)."""
        return hashlib.sha256("\n".join(spec.layers).encode()).hexdigest()[:32]

    def sweep(self, in_use: list[FunctionSpec]) -> list[str]:
        """Remove the unpacked packages no function uses any longer (a deleted function, a replaced
        code package, a deleted layer version no function uses), except those of live environments.
        Returns the folders removed."""
        current = {(s.arn, s.fingerprint) for s in in_use}
        with self._lock:
            retired = []
            for pool in self._idle.values():  # idle environments of deleted or changed functions stop now
                retired += [e for e in pool if (e.spec.arn, e.spec.fingerprint) not in current]
                pool[:] = [e for e in pool if (e.spec.arn, e.spec.fingerprint) in current]
            live = [e.spec for pool in self._idle.values() for e in pool] + [e.spec for e in self._busy]
        for env in retired:
            env.kill()
        keep_code = {s.code_sha[:32] for s in [*in_use, *live]}
        keep_opt = {self.layers_key(s) for s in [*in_use, *live] if s.layers}
        removed = []
        for folder, keep in ((self.code_dir, keep_code), (self.opt_dir, keep_opt)):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                name = entry.name
                if name.startswith("."):  # an unpack under way, or one a crash left: only if old
                    try:
                        if time.time() - entry.lstat().st_mtime < 3600:
                            continue
                    except OSError:
                        continue
                elif name in keep:
                    continue
                code_package.remove_tree(entry)
                removed.append(str(entry))
        return removed

    def layer_paths(self, spec: FunctionSpec, layer_zips: list[bytes]) -> tuple[str, ...]:
        """The import path entries of the function's layers, as Lambda's Python runtime puts
        them ahead of its own libraries: ``/opt/python/lib/python3.x/site-packages``, ``/opt/python``."""
        if not spec.layers:
            return ()
        opt = code_package.unpack(self.opt_dir / self.layers_key(spec), layer_zips)
        m = re.fullmatch(r"python(\d+\.\d+)", spec.runtime)
        version = m.group(1) if m else f"{sys.version_info.major}.{sys.version_info.minor}"
        return (str(opt / "python" / "lib" / f"python{version}" / "site-packages"), str(opt / "python"))

    def acquire(self, spec: FunctionSpec, code: bytes, layer_zips: list[bytes] = ()) -> tuple[Environment, bool]:
        """A warm environment for ``spec``, or a new one; the flag says it is new (cold)."""
        stale: list[Environment] = []
        with self._lock:
            pool = self._idle.setdefault(spec.arn, [])
            found = None
            while pool:
                env = pool.pop()
                if env.spec.fingerprint == spec.fingerprint and env.alive():
                    found = env
                    break
                stale.append(env)
            if found is not None:
                self._busy.add(found)
        for env in stale:
            env.kill()
        if found is not None:
            return found, False
        with self._lock:  # a cold start: what waits idle longest makes room first
            idle = sorted((e for pool in self._idle.values() for e in pool), key=lambda e: e.idle_since)
            room = idle[: max(0, len(idle) - IDLE_AT_COLD_START)]
            for e in room:
                self._idle[e.spec.arn].remove(e)
        for e in room:
            e.kill()
        env = Environment(spec, self.task_root(spec, code), self.endpoint_url, self.home_dir,
                          runtime_libs.ensure(self.state_dir), self.layer_paths(spec, list(layer_zips)))
        with self._lock:
            self._busy.add(env)
        return env, True

    def release(self, env: Environment, keep: bool) -> None:
        """Give ``env`` back: kept warm when ``keep`` and there is room, else stopped."""
        with self._lock:
            self._busy.discard(env)
            pool = self._idle.setdefault(env.spec.arn, [])
            kept = keep and env.alive() and len(pool) < MAX_IDLE_PER_FUNCTION
            if kept:
                env.idle_since = time.monotonic()
                pool.append(env)
            evicted = self._evict_locked()
        if not kept:
            env.kill()
        for old in evicted:
            old.kill()

    def _evict_locked(self) -> list[Environment]:
        """Idle environments past their time, and the longest idle beyond the total cap."""
        now = time.monotonic()
        idle = sorted((e for pool in self._idle.values() for e in pool), key=lambda e: e.idle_since)
        ttl = settings.IDLE_TTL.read()  # Lambda reclaims idle environments too
        doomed = [e for e in idle if now - e.idle_since > ttl]
        survivors = [e for e in idle if e not in doomed]
        doomed += survivors[: max(0, len(survivors) - MAX_IDLE_TOTAL)]
        for e in doomed:
            self._idle[e.spec.arn].remove(e)
        return doomed

    def stop_idle(self) -> int:
        """Stop every idle environment (their functions' next invokes are cold starts); how many."""
        with self._lock:
            idle = [e for pool in self._idle.values() for e in pool]
            self._idle.clear()
        for env in idle:
            env.kill()
        return len(idle)

    def describe(self) -> dict:
        with self._lock:
            idle = sum(len(p) for p in self._idle.values())
            busy = len(self._busy)
        return {"idle": idle, "busy": busy}

    def shutdown(self) -> None:
        """Stop every environment, idle or busy."""
        with self._lock:
            envs = [e for pool in self._idle.values() for e in pool] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for env in envs:
            env.kill()
