"""Figures of a mapping's concurrency (chapter 10): batches per execution environment over
time, and how many ran at once. Legible in black and white: bars in grey with black edges,
the count a black step line."""

from __future__ import annotations

import pandas as pd

from sqslab.analysis.plots import legend_below


def environments_figure(batches: pd.DataFrame, title: str = "A burst into the mapping: batches at once, over time"):
    """``batches``: one row per batch (``stream``, the execution environment's log stream;
    ``start_s``, ``end_s`` seconds since the first batch). Top: how many ran at once; below:
    one lane per execution environment, each batch a bar."""
    import matplotlib.pyplot as plt

    streams = list(dict.fromkeys(batches.sort_values("start_s")["stream"]))
    fig, (top, ax) = plt.subplots(2, 1, figsize=(10, 3.2 + 0.22 * len(streams)), sharex=True,
                                  gridspec_kw={"height_ratios": [1, max(2, len(streams) / 6)]})
    edges = sorted(set(batches["start_s"]) | set(batches["end_s"]))
    running = [int(((batches["start_s"] <= t) & (batches["end_s"] > t)).sum()) for t in edges]
    top.step(edges, running, where="post", color="black", label="batches running at once")
    top.axhline(5, color="0.5", ls="--", lw=1, label="five: where Lambda starts")
    top.set_ylabel("batches\nat once")
    top.set_title(title)
    top.grid(alpha=0.3)
    lane = {s: i for i, s in enumerate(streams)}
    for r in batches.itertuples(index=False):
        ax.barh(lane[r.stream], r.end_s - r.start_s, left=r.start_s, height=0.7, color="0.7", edgecolor="black",
                lw=0.6)
    ax.set_yticks([])
    ax.set_ylim(len(streams) - 0.4, -0.6)
    ax.set_ylabel(f"execution environment\n({len(streams)}, one log stream each)")
    ax.set_xlabel("time since the first batch started (s)")
    ax.grid(axis="x", alpha=0.3)
    handles, labels = top.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def outcomes_figure(table: pd.DataFrame, title: str = "Reserved concurrency 2: messages processed and lost"):
    """``table``: one row per setting (index), columns ``processed`` and ``dead_letters``; stacked bars."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = list(range(len(table)))
    ax.bar(x, table["processed"], color="white", edgecolor="black", label="processed by the function")
    ax.bar(x, table["dead_letters"], bottom=table["processed"], color="0.55", edgecolor="black", hatch="xx",
           label="in the dead-letter queue, never processed")
    for i, (p, d) in enumerate(zip(table["processed"], table["dead_letters"], strict=True)):
        ax.annotate(f"{p} + {d}", xy=(i, p + d), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xticks(x)
    ax.set_xticklabels(list(table.index), fontsize=9)
    ax.set_ylabel("messages")
    ax.set_ylim(0, (table["processed"] + table["dead_letters"]).max() * 1.25)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    legend_below(fig, ax, ncol=2)
    return fig
