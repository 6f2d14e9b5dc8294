"""Execute the notebook series in order and write the workshop handouts.

Each notebook is executed with papermill (parameters injected into its
``parameters`` cell) into ``build/handouts/NN_name.ipynb``, then converted to a
self-contained HTML file beside it, figures embedded, and the contents page
``index.html`` is written (sqslab.series.handouts). Offline, the server is started if it
is not running, and stopped at the end if this run started it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqslab.base.errors import SqslabError
from sqslab.config import HANDOUTS, NOTEBOOKS, PROFILES, RETRIES_MAX_RECEIVE_COUNT
from sqslab.series import handouts
from sqslab.series.kernels import KERNEL_ARGUMENTS, SeriesKernelManager, WarmKernel, evaluate


def waits_by_design(profile: str, extra: dict | None = None) -> dict[str, float]:
    """Seconds each notebook waits by design when the series runs in order, from its
    timings: what no speed-up can remove. Each term names the cells it comes from."""
    extra = extra or {}
    timings = PROFILES[profile]
    vt = extra.get("visibility_timeout") or timings["VisibilityTimeout"]
    wait = extra.get("wait") if extra.get("wait") is not None else timings["ReceiveMessageWaitTimeSeconds"]
    compare = extra.get("compare_seconds") or (60 if profile == "article" else 12)
    # the retries stack (05, 06): its queue's visibility timeout, the mapping's batching window
    retries_vt = extra.get("visibility_timeout") or timings["RetriesVisibilityTimeout"]
    window, every, max_receive = timings["BatchingWindow"], timings["SendEvery"], RETRIES_MAX_RECEIVE_COUNT
    # the fifo stack (07): its queues' visibility timeout
    fifo_vt = extra.get("visibility_timeout") or timings["FifoVisibilityTimeout"]
    return {
        # from function2's receive to the end of its visibility timeout (function3's empty
        # poll runs inside it), then function2's empty long poll
        "02_invoke": vt + wait,
        # consumer A's 6 s of work (B's receive waits inside it); the heartbeat's other
        # consumer polls for 8 s
        "03_visibility_timeout": 6 + 8,
        # the message sent half-way through a long poll; the two consumers' run side by side
        "04_long_polling": max(wait, 1) / 2 + compare,
        # ten messages, one every `send_every` s, then the last batch's window (n05-send, n05-wait);
        # the sweep's same trickle, and again the last window of the mapping with the stack's window
        # (n05-sweep-send, n05-sweep-wait)
        "05_event_source_mapping": 2 * (9 * every + window),
        # the poison message: received maxReceiveCount times, one visibility timeout apart, and moved
        # at the receive one visibility timeout after the last (n06-poison-wait); the same for the batch
        # without partial batch responses (n06-without-wait); the redrive's last, empty 1 s long poll
        # (n06-hand); the redriven messages' batching window (n06-redrive-wait)
        "06_failures_and_dead_letter_queues": 2 * max_receive * retries_vt + 1 + window,
        # the consumer by hand: A1's half second of work, then B1 not deleted holds group B for one
        # visibility timeout, then B1, B2 and B3 worked on in turn, half a second each (n07-held); poison
        # B2 received maxReceiveCount times one visibility timeout apart, and moved at the receive one
        # visibility timeout after the last (n07-dlq-wait)
        "07_fifo_queues": 4 * 0.5 + fifo_vt + max_receive * fifo_vt,
        # the message timer's twice the delay queue's delay (n08-timer); the three queues watched for
        # 70 s from the sends, past the 60 s retention SQS allows at least (n08-watch)
        "08_message_lifetime": 2 * timings["LifetimeDelay"] + 70,
        # the flaky order back after one visibility timeout, once the 1 s batching window has passed
        # (n09-retry-wait); the slow worker's 1.5 s, once per consumer (n09-by-hand)
        "09_duplicates_and_idempotency": 1 + (extra.get("visibility_timeout") or timings["IdempotencyVisibilityTimeout"])
                                         + 2 * 1.5,
        # thirty one-second batches at five at once, then more: about 3 s (n10-burst); the throttled
        # messages back after the 3 s visibility timeout, and moved (n10-trap); ten one-second batches
        # two at a time (n10-fixed); the throttled invoke at once
        "10_concurrency_and_throttling": 3 + 3 + 5,
        # the filtered mapping's 1 s batching window (n11-filter); the audit queue's empty 1 s long
        # poll before its policy (n11-fanout)
        "11_filtering_and_fan_out": 1 + 1,
    }


def check_series(profile: str, only: list[str] | None) -> None:
    """One line for a profile or an ``--only`` name the series does not have (before anything runs)."""
    if profile not in PROFILES:
        raise SqslabError(f"unknown profile {profile!r}: use {' or '.join(PROFILES)}")
    all_names = [p.stem for p in notebooks()]
    for wanted in only or []:
        if str(wanted).removesuffix(".ipynb") not in all_names:
            raise SqslabError(f"--only {wanted!r} is not a notebook of the series: choose from {', '.join(all_names)}")


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def to_html(executed: Path, names: list[str] | None = None) -> Path:
    """Write the HTML handout beside the executed notebook. Progress lines redrawn with
    carriage returns are reduced to their final state in both files; the handout's links to the series' notebooks (``names``, default: the series) lead to their handouts."""
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb = nbformat.read(executed, as_version=4)
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nbformat.write(nb, executed)
    out = executed.with_suffix(".html")
    out.write_text(handouts.export(nb, [p.stem for p in notebooks()] if names is None else names), encoding="utf-8")
    return out


def execute(nb_path: Path, executed: Path, parameters: dict, cwd: Path = NOTEBOOKS, km=None) -> None:
    """Run one notebook with papermill; a failing cell raises papermill's PapermillExecutionError.
    ``km``: a kernel already started in ``cwd`` (:class:`~sqslab.series.kernels.WarmKernel`), or None
    to start one here."""
    import papermill as pm

    extra = {"km": km} if km is not None else {}
    pm.execute_notebook(str(nb_path), str(executed), parameters=parameters, kernel_name="python3",
                        cwd=str(cwd), progress_bar=False, log_output=False,
                        kernel_manager_class=SeriesKernelManager, extra_arguments=list(KERNEL_ARGUMENTS),
                        **extra)


def run(profile: str = "article", out_dir: Path = HANDOUTS, target: str = "offline", stack_name: str = "sqslab",
        only: list[str] | None = None, extra: dict | None = None, say=print, keep_going: bool = False,
        check: bool = True, inspect: dict[str, dict[str, str]] | None = None) -> list[dict]:
    """Execute the series; returns one record per notebook (paths, seconds, errors).

    ``inspect`` ({notebook stem: {name: expression}}): expressions evaluated in each notebook's
    kernel once it has run (:func:`sqslab.series.kernels.evaluate`); their values are the record's
    ``values``. The notebook tests read a chapter's results this way, not from cells of their own.

    A failed notebook stops the run unless ``keep_going`` (each later notebook then
    deploys what it needs itself); with ``check``, a failure ends in SqslabError."""
    import papermill as pm

    from sqslab.offline.server import control as server

    check_series(profile, only)
    all_names = [p.stem for p in notebooks()]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    series = [p for p in notebooks() if not only or p.stem in only or p.name in only]
    t_series = time.monotonic()
    # The first kernel starts (and loads its imports) while the offline server does.
    warm = WarmKernel(NOTEBOOKS) if series else None
    started_here = False
    if target == "offline" and not server.status()["running"]:
        server.start()
        started_here = True
    records = []
    first_start = last_end = None
    # Finished notebooks' kernels are stopped, and their handouts written, while the next one runs.
    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handouts")
    pending = []
    try:
        for i, nb_path in enumerate(series):
            km = warm.manager()
            wanted = (inspect or {}).get(nb_path.stem)
            if km is None and wanted:  # the values are read from the kernel: it must outlive papermill's run
                km = WarmKernel(NOTEBOOKS, preload="pass").manager()
            # the next notebook's kernel starts (and loads its imports) while this one runs
            warm = WarmKernel(NOTEBOOKS) if i + 1 < len(series) else None
            executed = out_dir / nb_path.name
            params = {"target": target, "stack_name": stack_name, "profile": profile, **(extra or {})}
            t0 = time.monotonic()
            first_start = first_start if first_start is not None else t0
            say(f"running {nb_path.name} ...")
            error = None
            try:
                execute(nb_path, executed, params, km=km)
            except pm.PapermillExecutionError as exc:
                error = f"{exc.ename}: {exc.evalue}"
            except BaseException:  # interrupted, or the kernel died: papermill does not own this kernel
                if km is not None:
                    WarmKernel.stop(km)
                raise
            last_end = time.monotonic()
            seconds = last_end - t0
            values = evaluate(km, wanted) if wanted and km is not None else {}
            if km is not None:
                pending.append(background.submit(WarmKernel.stop, km))
            pending.append(background.submit(to_html, executed, all_names))
            html = executed.with_suffix(".html")
            records.append({"notebook": nb_path.name, "seconds": seconds, "ipynb": executed, "html": html,
                            "error": error, "values": values})
            say(f"  {'FAILED' if error else 'ok'} in {seconds:.1f} s -> {html}" + (f"  ({error})" if error else ""))
            if error and not keep_going:
                break
        for done in pending:
            done.result()
        wall = time.monotonic() - t_series
    finally:
        background.shutdown(wait=True)
        if warm is not None:
            warm.shutdown()
        if started_here:
            server.stop()
    index = handouts.write_index(out_dir, notebooks(), records, profile=profile)
    if not only:  # the whole series as one PDF, sqslab.pdf; a run of some notebooks leaves it as it was
        from sqslab.series import printed

        printed.write_pdf(out_dir, notebooks(), records, profile=profile, say=say)
    failed = [r for r in records if r["error"]]
    total = sum(r["seconds"] for r in records)
    say(f"handouts in {out_dir} ({len(records)} notebooks, {total:.0f} s); contents: {index}")
    if not only and not failed:
        forced = sum(waits_by_design(profile, extra).values())
        span = last_end - first_start
        say(f"the notebooks ran {span:.0f} s, from the first one's start to the last one's end; their waits by "
            f"design add up to {forced:.0f} s ({span / forced:.2f} x); with the offline server's start and the "
            f"handouts, {wall:.0f} s")
    if failed and check:
        raise SqslabError(f"{failed[0]['notebook']} failed: {failed[0]['error']} (see {failed[0]['html']})")
    return records
