"""Figures of a message's lifetime (chapter 08): delays, and queue counts over time.

Legible printed in black and white: the delays are hatched bars, the queues' counts
differ by line style and marker."""

from __future__ import annotations

import pandas as pd

from sqslab.analysis.plots import LabelOnce, legend_below


def delays_figure(delays: pd.DataFrame, title: str = "A delay queue and a message timer, sent at the same moment"):
    """One row per message (``delays`` indexed by its name): sent at 0, hidden for its delay
    (``delay_s``, a hatched bar), received (``received_s``, a black circle)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.7 * len(delays)))
    once = LabelOnce()
    for y, (_, r) in enumerate(delays[::-1].iterrows()):
        ax.barh(y, r["delay_s"], left=0, height=0.45, color="0.9", edgecolor="black", hatch="\\\\",
                label=once("delay", "delayed: not yet visible to any receive"))
        ax.plot(0, y, "o", mfc="white", mec="black", ms=8, label=once("sent", "sent (SendMessage)"))
        ax.plot(r["received_s"], y, "o", color="black", ms=8, label=once("got", "received by a waiting long poll"))
        ax.annotate(f"{r['received_s']:.2f} s", xy=(r["received_s"], y), xytext=(8, 0), textcoords="offset points",
                    va="center", fontsize=8)
    end = float(delays["received_s"].max())
    ax.set_yticks(range(len(delays)))
    ax.set_yticklabels(list(delays.index[::-1]))
    ax.set_ylim(-0.6, len(delays) - 0.4)
    ax.set_xlim(-0.03 * max(end, 1), max(end, 1) * 1.15)
    ax.set_xlabel("time since the two sends (s)")
    ax.set_ylabel("message")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    legend_below(fig, ax, ncol=3)
    return fig


_LINES = ["-", "--", ":", "-."]
_MARKS = ["o", "s", "^", "D"]


def counts_figure(counts: pd.DataFrame, retention_s: float,
                  title: str = "ApproximateNumberOfMessages over time: retention at work"):
    """``counts``: one row per sample (``queue``, ``t_s`` seconds since the sends, ``messages``);
    one step line per queue, each with its own line style and marker; the retention period a
    vertical line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.6))
    queues = list(dict.fromkeys(counts["queue"]))
    for i, queue in enumerate(queues):
        part = counts[counts["queue"] == queue]
        offset = 0.04 * (i - (len(queues) - 1) / 2)  # lines that overlap stay apart
        ax.step(part["t_s"], part["messages"] + offset, where="post", color="black", ls=_LINES[i % 4],
                marker=_MARKS[i % 4], ms=4, mfc="white", label=queue)
    ax.axvline(retention_s, color="0.5", lw=1)
    ax.annotate(f"MessageRetentionPeriod {retention_s:g} s after the send", xy=(retention_s, 0.5), xytext=(-6, 0),
                textcoords="offset points", ha="right", fontsize=8, color="0.3")
    ax.set_yticks([0, 1])
    ax.set_ylim(-0.25, 1.35)
    ax.set_xlabel("time since the messages were sent (s)")
    ax.set_ylabel("messages in the queue")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    legend_below(fig, ax, ncol=2)
    return fig
