"""Figures: the message timeline (visibility windows) and poll durations.

Legible printed in black and white: each function has a hatch as well as a
colour, and markers differ by shape.
"""

from __future__ import annotations

import pandas as pd

STYLE = {
    "function2": {"color": "#1f77b4", "hatch": "///", "label": "invisible after function2 received it"},
    "function3": {"color": "#ff7f0e", "hatch": "...", "label": "invisible after function3 received it"},
}


def timeline_figure(windows: pd.DataFrame, sends: pd.DataFrame, polls: pd.DataFrame | None = None,
                    title: str = "What happened to each message"):
    """One row per message: sent (circle), each invisible window (bar, by receiver),
    its end (| when the timeout ran out, x when deleted). Poll calls below, one row per function."""
    import matplotlib.pyplot as plt

    t0 = min([*sends["sent_ms"], *(polls["start_ms"] if polls is not None and not polls.empty else [])])
    bodies = list(sends["body"])
    poll_fns = sorted(polls["function"].unique()) if polls is not None and not polls.empty else []
    nrows = len(bodies) + len(poll_fns)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.7 * max(nrows, 2)))
    labelled = set()
    for i, s in enumerate(sends.itertuples(index=False)):
        y = nrows - 1 - i
        ax.plot((s.sent_ms - t0) / 1000, y, "o", color="black", ms=7,
                label="sent" if "sent" not in labelled else None)
        labelled.add("sent")
        for w in windows[windows["message_id"] == s.message_id].itertuples(index=False):
            st = STYLE.get(w.receiver, {"color": "grey", "hatch": "xx", "label": f"invisible after {w.receiver}"})
            start, end = (w.received_ms - t0) / 1000, (w.end_ms - t0) / 1000
            ax.barh(y, end - start, left=start, height=0.5, color=st["color"], alpha=0.55, hatch=st["hatch"],
                    edgecolor="black", label=st["label"] if w.receiver not in labelled else None)
            labelled.add(w.receiver)
            if w.ended_by == "delete":
                ax.plot(end, y, "x", color="black", ms=10, mew=2,
                        label="deleted" if "deleted" not in labelled else None)
                labelled.add("deleted")
            else:
                ax.plot([end, end], [y - 0.35, y + 0.35], "-", color="black", lw=2,
                        label="visible again (timeout over)" if "visible" not in labelled else None)
                labelled.add("visible")
                ax.annotate(f"{w.visibility_timeout_s} s visibility timeout", xy=((start + end) / 2, y + 0.3),
                            ha="center", va="bottom", fontsize=8)
            ax.annotate(f"receive #{w.receive_count}", xy=(start, y - 0.3), ha="left", va="top", fontsize=7)
    for j, fn in enumerate(poll_fns):
        y = len(poll_fns) - 1 - j
        for p in polls[polls["function"] == fn].itertuples(index=False):
            start, end = (p.start_ms - t0) / 1000, (p.end_ms - t0) / 1000
            ax.plot([start, max(end, start + 0.15)], [y, y], "-", color="dimgray", lw=4, solid_capstyle="butt",
                    label="ReceiveMessage call (long poll)" if "poll" not in labelled else None)
            labelled.add("poll")
            ax.annotate(f"{p.duration_s:.1f} s, {p.messages} msg", xy=(start, y + 0.15), fontsize=7)
    ax.set_yticks(range(nrows))
    ax.set_yticklabels([f"polls by {fn}" for fn in reversed(poll_fns)] + [f"message {b}" for b in reversed(bodies)],
                       fontsize=8)
    ax.set_xlabel("time since the first event (s)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def poll_duration_figure(invocations: pd.DataFrame, wait_s: float, title: str = "How long each invocation took"):
    """Duration of every invocation (REPORT lines), in order, with the long-poll wait marked."""
    import matplotlib.pyplot as plt

    inv = invocations.sort_values("timestamp_ms").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 4))
    hatches = {"function1": "", "function2": "///", "function3": "..."}
    colors = {"function1": "#2ca02c", "function2": "#1f77b4", "function3": "#ff7f0e"}
    for i, r in inv.iterrows():
        ax.bar(i, r["duration_ms"] / 1000, color=colors.get(r["function"], "grey"), hatch=hatches.get(r["function"], ""),
               edgecolor="black", label=r["function"] if r["function"] not in inv["function"][:i].values else None)
        ax.annotate(f"{r['duration_ms'] / 1000:.2f} s", xy=(i, r["duration_ms"] / 1000), ha="center", va="bottom", fontsize=8)
    ax.axhline(wait_s, ls="--", color="black", lw=1)
    ax.annotate(f"long-poll wait {wait_s:g} s", xy=(-0.45, wait_s), ha="left", va="bottom", fontsize=8)
    ax.set_ylim(0, max(wait_s, inv["duration_ms"].max() / 1000) * 1.15)
    ax.set_xticks(range(len(inv)))
    ax.set_xticklabels([f"{i + 1}. {f}" for i, f in enumerate(inv["function"])], rotation=20, fontsize=8)
    ax.set_ylabel("Duration from the REPORT line (s)")
    ax.set_xlabel("invocation, in order")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
