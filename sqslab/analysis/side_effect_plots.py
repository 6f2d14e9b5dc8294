"""Figures of side effects counted per order (chapter 09), legible in black and white: each
consumer has its own hatch, and the correct count is a line across."""

from __future__ import annotations

import pandas as pd

_HATCHES = ["", "///", "..", "xx"]


def charges_figure(charges: pd.DataFrame, title: str = "How often each order was charged"):
    """``charges``: one row per order (index: its label), one column per consumer (how many
    charges the orders table holds); grouped bars, and a line at one charge, the right number."""
    import matplotlib.pyplot as plt

    from sqslab.analysis.plots import legend_below

    fig, ax = plt.subplots(figsize=(10, 4.6))
    n = len(charges.columns)
    width = 0.8 / max(n, 1)
    x = list(range(len(charges)))
    for i, consumer in enumerate(charges.columns):
        offset = (i - (n - 1) / 2) * width
        values = charges[consumer].fillna(0).astype(int)
        ax.bar([p + offset for p in x], values, width=width * 0.95, color="white" if i == 0 else "0.75",
               edgecolor="black", hatch=_HATCHES[i % len(_HATCHES)], label=consumer)
        for p, v in zip(x, values, strict=True):
            ax.annotate(str(v), xy=(p + offset, v), xytext=(0, 2), textcoords="offset points", ha="center",
                        fontsize=8)
    ax.axhline(1, color="black", ls="--", lw=1, label="charged once: what the customer expects")
    ax.set_xticks(x)
    ax.set_xticklabels(list(charges.index), fontsize=8)
    ax.set_ylim(0, max(2, int(charges.max().max())) + 0.8)
    ax.set_yticks(range(0, max(2, int(charges.max().max())) + 1))
    ax.set_xlabel("order, and how its duplicate came about")
    ax.set_ylabel("charges in the orders table")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    legend_below(fig, ax, ncol=3)
    return fig
