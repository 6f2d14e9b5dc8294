"""Figures of FIFO message groups (chapter 07): each group a lane over time.

Legible printed in black and white: outcomes differ by marker shape and fill, the
time a message holds its group by a hatched band."""

from __future__ import annotations

import pandas as pd

from sqslab.analysis.plots import LabelOnce, legend_below


def _lanes(ax, groups: list[str]) -> dict[str, int]:
    """Lane number of each group, the first group at the top."""
    lane = {g: len(groups) - 1 - i for i, g in enumerate(groups)}
    ax.set_yticks(list(lane.values()))
    ax.set_yticklabels([f"group {g}" for g in lane])
    ax.set_ylim(-0.8, len(groups) - 0.3)
    ax.set_ylabel("message group (MessageGroupId)")
    ax.grid(axis="x", alpha=0.3)
    return lane


def lanes_figure(receives: pd.DataFrame, visibility_timeout_s: float,
                 title: str = "Receiving from a FIFO queue: one group held back, the others go on"):
    """One lane per message group; each receive a bar from when it was received to when its work
    ended (dark: then deleted; light: not deleted), labelled with the body (and ``#n``, its
    ApproximateReceiveCount, from the second receive on). A message not deleted holds its group
    for the visibility timeout: a hatched band. ``receives``: one row per message received, with
    ``group``, ``body``, ``receive_count``, ``received_s``, ``done_s`` (seconds since the first
    receive) and ``deleted``."""
    import matplotlib.pyplot as plt

    groups = sorted(receives["group"].unique())
    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.75 * len(groups)))
    lane = _lanes(ax, groups)
    once = LabelOnce()
    end = 0.0
    for r in receives.itertuples(index=False):
        y, width = lane[r.group], max(r.done_s - r.received_s, 0.05)
        if not r.deleted:
            ax.barh(y, visibility_timeout_s, left=r.received_s, height=0.5, color="0.93", edgecolor="black",
                    hatch="///", lw=0.8, label=once("held", f"in flight, not deleted: the group is held back for the "
                                                            f"{visibility_timeout_s:g} s visibility timeout"))
            end = max(end, r.received_s + visibility_timeout_s)
        ax.barh(y, width, left=r.received_s, height=0.5, color="0.3" if r.deleted else "0.7", edgecolor="black",
                label=once(r.deleted, "received, worked on, deleted" if r.deleted else "received, worked on, not deleted"))
        count = int(r.receive_count)
        ax.annotate(r.body + (f" #{count}" if count > 1 else ""), xy=(r.received_s + width / 2, y + 0.3),
                    ha="center", va="bottom", fontsize=8)
        end = max(end, r.done_s)
    ax.plot([], [], " ", label=once("n", "#n: ApproximateReceiveCount (from the second receive on)"))
    ax.set_xlim(-0.02 * max(end, 1), max(end, 1) * 1.04)
    ax.set_xlabel("time since the first receive (s)")
    ax.set_title(title)
    legend_below(fig, ax, ncol=2)
    return fig


_MARKERS = {  # outcome -> (marker, face colour, size, legend text)
    "ok": ("o", "black", 8, "processed and deleted"),
    "failed": ("X", "black", 10, "failed (poison)"),
    "skipped": ("o", "white", 8, "not processed: behind a failure in its group, reported failed"),
}


def group_attempts_figure(records: pd.DataFrame, moved: pd.DataFrame | None = None,
                          title: str = "A FIFO queue polled by Lambda: a failing message holds its group"):
    """One lane per message group over time; each record a mark at the time its invocation
    processed it (shape: ok, failed, skipped), the records of one group in one invocation side by
    side, above one another, each labelled with its body and ``#n`` (ApproximateReceiveCount).
    ``records``: ``group``, ``body``, ``outcome``, ``receive_count``, ``time_s``, ``batch`` (which
    invocation). ``moved``: ``group``, ``body``, ``time_s`` of the messages seen arriving in the
    dead-letter queue (a square each)."""
    import matplotlib.pyplot as plt

    groups = sorted(records["group"].unique())
    fig, ax = plt.subplots(figsize=(10, 2.2 + 1.1 * len(groups)))
    lane = _lanes(ax, groups)
    once = LabelOnce()
    end = float(records["time_s"].max())
    moved = moved if moved is not None else pd.DataFrame(columns=["group", "body", "time_s"])
    for group, part in records[records["outcome"] != "ok"].groupby("group", sort=False):
        start = float(part["time_s"].min())
        to_dlq = moved.loc[moved["group"] == group, "time_s"]
        stop = float(to_dlq.min()) if not to_dlq.empty else float(part["time_s"].max())
        ax.barh(lane[group], stop - start, left=start, height=0.85, color="0.94", edgecolor="0.5", hatch="//", lw=0.6,
                zorder=0, label=once("held", "group held back: its failed messages in flight, retried"))
    for (_, group), part in records.groupby(["batch", "group"], sort=False):
        n = len(part)
        for k, r in enumerate(part.itertuples(index=False)):
            y = lane[group] + ((n - 1) / 2 - k) * 0.25  # the batch's first record on top
            marker, face, size, text = _MARKERS[r.outcome]
            ax.plot(r.time_s, y, marker, mfc=face, mec="black", color="black", ms=size, label=once(r.outcome, text))
            ax.annotate(f"{r.body} #{int(r.receive_count)}", xy=(r.time_s, y), xytext=(7, 0),
                        textcoords="offset points", va="center", fontsize=7)
    for group, part in moved.groupby("group", sort=False):
        t, y = float(part["time_s"].min()), lane[group] - 0.5
        ax.plot(t, y, "s", mfc="0.75", mec="black", ms=10, label=once("dlq", "seen in the FIFO dead-letter queue"))
        ax.annotate(", ".join(part["body"]) + " in the dead-letter queue", xy=(t, y), xytext=(-8, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=7)
        end = max(end, t)
    ax.set_xlim(-0.04 * max(end, 1), max(end, 1) * 1.12)
    ax.set_xlabel("time since Lambda began polling (s)")
    ax.set_title(title)
    legend_below(fig, ax, ncol=2)
    return fig
