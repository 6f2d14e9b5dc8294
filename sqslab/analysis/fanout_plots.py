"""Figures of filtering and fan-out (chapter 11): counts per category as grouped bars, legible
in black and white (each column of the table its own hatch)."""

from __future__ import annotations

import pandas as pd

from sqslab.analysis.plots import legend_below

_HATCHES = ["", "///", "..", "xx"]
_FILLS = ["white", "0.8", "0.6", "0.4"]


def counts_figure(table: pd.DataFrame, title: str, xlabel: str, ylabel: str = "messages"):
    """One group of bars per row of ``table`` (its index labels the group), one bar per column,
    each labelled with its count."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.4))
    n = len(table.columns)
    width = 0.8 / max(n, 1)
    x = list(range(len(table)))
    for i, column in enumerate(table.columns):
        offset = (i - (n - 1) / 2) * width
        values = table[column].fillna(0).astype(int)
        ax.bar([p + offset for p in x], values, width=width * 0.95, color=_FILLS[i % 4], edgecolor="black",
               hatch=_HATCHES[i % 4], label=column)
        for p, v in zip(x, values, strict=True):
            ax.annotate(str(v), xy=(p + offset, v), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    top = int(table.max().max()) if len(table) else 1
    ax.set_ylim(0, max(top, 1) * 1.25 + 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of messages
    ax.set_xticks(x)
    ax.set_xticklabels(list(table.index), fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    legend_below(fig, ax, ncol=min(n, 3))
    return fig
