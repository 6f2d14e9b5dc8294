"""Jupyter kernels for the series: each notebook's kernel starts while the one before runs.

A kernel takes one to two seconds to start and to import what the notebooks use
(pandas, matplotlib, boto3, sqslab). Run one after the other, six notebooks spend
about ten seconds on that alone. :class:`WarmKernel` starts the next notebook's
kernel in a thread of its own, in the notebook's folder, and imports those
modules silently (no execution count, no output, no history), so the notebook
finds them already loaded; what it executes and shows is unchanged.

:class:`SeriesKernelManager` also shuts kernels down without interrupting them
first (see its docstring).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from jupyter_client import AsyncKernelManager

# What every notebook's first cells import; loading it early changes nothing they show.
PRELOAD = ("import boto3, pandas, matplotlib.pyplot, sqslab.lab.notebook, sqslab.analysis.plots, sqslab.analysis.timeline, sqslab.target\n"
           "sqslab.target.warm_models()")
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]  # the kernel talks over loopback only


class SeriesKernelManager(AsyncKernelManager):
    """Shuts the kernel down without interrupting it first.

    jupyter_client sends SIGINT before every shutdown request. papermill's last
    request (kernel_info) returns its reply before the kernel leaves the handler, so
    the SIGINT could land inside it and the kernel logged "KeyboardInterrupt caught
    in kernel." at ERROR level, although nothing was running. The shutdown request
    alone stops an idle kernel; a busy one is still terminated after the usual wait.
    """

    async def _async_interrupt_kernel(self):
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


class WarmKernel:
    """A kernel started (and its imports loaded) in the background, in ``cwd``.

    ``manager()`` waits for it and returns its kernel manager, ready for papermill;
    the caller shuts it down with :meth:`shutdown`. If starting it failed, ``manager()``
    returns None and the notebook starts a kernel of its own as usual."""

    def __init__(self, cwd: Path, kernel_name: str = "python3", preload: str = PRELOAD):
        self.cwd = Path(cwd)
        self.kernel_name = kernel_name
        self.preload = preload
        self.km: SeriesKernelManager | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="warm-kernel", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            asyncio.run(self._start_async())
        except BaseException as exc:  # reported through manager(): the notebook then starts its own
            self.error = exc

    async def _start_async(self) -> None:
        km = SeriesKernelManager(kernel_name=self.kernel_name)
        await km.start_kernel(cwd=str(self.cwd), extra_arguments=list(KERNEL_ARGUMENTS))
        self.km = km
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(self.preload, silent=True, store_history=False, timeout=60)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"preloading failed: {reply['content'].get('evalue', '')}")
        finally:
            kc.stop_channels()

    def manager(self, timeout: float = 120.0) -> SeriesKernelManager | None:
        self._thread.join(timeout)
        if self._thread.is_alive():  # still starting: stop it once it has started, and do without
            threading.Thread(target=lambda: (self._thread.join(), self.shutdown()), daemon=True).start()
            return None
        if self.error is not None:
            km, self.km = self.km, None
            if km is not None:
                self.stop(km)
            return None
        return self.km

    def shutdown(self) -> None:
        """Stop this kernel (waiting for it first if it is still starting)."""
        self._thread.join(120)
        km, self.km = self.km, None
        if km is not None:
            self.stop(km)

    @staticmethod
    def stop(km: AsyncKernelManager) -> None:
        """Shut down a kernel this module started, from a thread with no running event loop."""

        async def _stop():
            if await km.is_alive():
                await km.shutdown_kernel(now=False)  # also removes its connection file

        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop running here: the usual case
            asyncio.run(_stop())
            return
        t = threading.Thread(target=lambda: asyncio.run(_stop()), daemon=True)  # inside a loop: not on it
        t.start()
        t.join(30)


class EvaluationError(RuntimeError):
    """An expression evaluated by :func:`evaluate` raised in the kernel."""


def evaluate(km: AsyncKernelManager, expressions: dict[str, str], timeout: float = 60.0) -> dict:
    """Evaluate ``expressions`` ({name: Python expression}) in a running kernel's namespace, as it is
    after the notebook ran in it, without adding a cell, an output or a history entry.

    Each value comes back through JSON (numpy and pandas values as Python ones, anything else as
    its ``str``); an expression that raises
    gives an :class:`EvaluationError` in its place. The notebook tests read what a chapter
    computed this way, so no cell of the chapter exists for them."""
    import ast
    import json

    # numpy and pandas values as Python ones (.tolist()), anything else as its str
    default = "lambda o: o.tolist() if hasattr(o, 'tolist') else str(o)"
    wrapped = {name: f"__import__('json').dumps(({expr}), default={default})" for name, expr in expressions.items()}

    async def _evaluate():
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            reply = await kc.execute_interactive("", silent=True, store_history=False, user_expressions=wrapped,
                                                 timeout=timeout)
        finally:
            kc.stop_channels()
        return reply["content"].get("user_expressions", {})

    results: dict = {}

    def _run():
        results.update(asyncio.run(_evaluate()))

    t = threading.Thread(target=_run, daemon=True)  # a loop of its own, whether or not one runs here
    t.start()
    t.join(timeout + 30)
    values = {}
    for name in expressions:
        found = results.get(name)
        if found is None:
            values[name] = EvaluationError("no answer from the kernel")
        elif found.get("status") != "ok":
            values[name] = EvaluationError(f"{found.get('ename')}: {found.get('evalue')}")
        else:
            values[name] = json.loads(ast.literal_eval(found["data"]["text/plain"]))
    return values
