"""Figures: the message timeline (visibility windows) and poll durations.

Legible printed in black and white: each function has a hatch as well as a
colour, and markers differ by shape.
"""

from __future__ import annotations

import pandas as pd

STYLE = {
    "function2": {"color": "#1f77b4", "hatch": "///", "label": "invisible after function2 received it"},
    "function3": {"color": "#ff7f0e", "hatch": "...", "label": "invisible after function3 received it"},
    "consumer A": {"color": "#9467bd", "hatch": "\\\\", "label": "invisible after consumer A received it"},
    "consumer B": {"color": "#2ca02c", "hatch": "oo", "label": "invisible after consumer B received it"},
}



class LabelOnce:
    """A legend label the first time a key is drawn, None after: each kind of mark is listed once."""

    def __init__(self):
        self.seen: set = set()

    def __call__(self, key, text):
        if key in self.seen:
            return None
        self.seen.add(key)
        return text

def timeline_figure(windows: pd.DataFrame, sends: pd.DataFrame, polls: pd.DataFrame | None = None,
                    title: str = "What happened to each message", deletes: pd.DataFrame | None = None,
                    changes: pd.DataFrame | None = None):
    """One row per message: sent (circle), each invisible window (bar, by receiver),
    its end (| when the timeout ran out, x when deleted), each ChangeMessageVisibility
    (triangle). Poll calls below, one row per function. A window shorter than the eye
    can see (received and deleted at once) is drawn at a minimum width."""
    import matplotlib.pyplot as plt

    t0 = min([*sends["sent_ms"], *(polls["start_ms"] if polls is not None and not polls.empty else [])])
    ends = [*sends["sent_ms"], *windows["end_ms"], *(polls["end_ms"] if polls is not None and not polls.empty else []),
            *(deletes["deleted_ms"] if deletes is not None and not deletes.empty else [])]
    span = max(1.0, (max(ends) - t0) / 1000)
    min_width = span * 0.006
    bodies = list(sends["body"])
    poll_fns = sorted(polls["function"].unique()) if polls is not None and not polls.empty else []
    nrows = len(bodies) + len(poll_fns)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.7 * max(nrows, 2)))
    once = LabelOnce()
    for i, s in enumerate(sends.itertuples(index=False)):
        y = nrows - 1 - i
        ax.plot((s.sent_ms - t0) / 1000, y, "o", color="black", ms=7, label=once("sent", "sent"))
        for w in windows[windows["message_id"] == s.message_id].itertuples(index=False):
            st = STYLE.get(w.receiver, {"color": "grey", "hatch": "xx", "label": f"invisible after {w.receiver}"})
            start, end = (w.received_ms - t0) / 1000, (w.end_ms - t0) / 1000
            ax.barh(y, max(end - start, min_width), left=start, height=0.5, color=st["color"], alpha=0.55, hatch=st["hatch"],
                    edgecolor="black", label=once(w.receiver, st["label"]))
            if w.ended_by == "delete":
                ax.plot(end, y, "x", color="black", ms=10, mew=2, label=once("deleted", "deleted"))
            else:
                ax.plot([end, end], [y - 0.35, y + 0.35], "-", color="black", lw=2,
                        label=once("visible", "visible again (timeout over)"))
                ax.annotate(f"{w.visibility_timeout_s} s visibility timeout", xy=((start + end) / 2, y + 0.3),
                            ha="center", va="bottom", fontsize=8)
            which = f"receive #{w.receive_count}" if w.receive_count else "receive"
            ax.annotate(f"{which} by {w.receiver}", xy=(start, y - 0.3), ha="left", va="top", fontsize=7)
        if changes is not None and not changes.empty:
            for c in changes[changes["message_id"] == s.message_id].itertuples(index=False):
                ax.plot((c.time_ms - t0) / 1000, y + 0.3, "v", color="black", ms=6,
                        label=once("change", "visibility timeout set anew (ChangeMessageVisibility)"))
        if deletes is not None and not deletes.empty:
            ended = set(windows.loc[windows["ended_by"] == "delete", "message_id"])
            late = deletes[deletes["message_id"] == s.message_id]
            for d in late.iloc[1:].itertuples(index=False) if s.message_id in ended else late.itertuples(index=False):
                x = (d.deleted_ms - t0) / 1000
                ax.plot(x, y, "x", color="grey", ms=10, mew=2,
                        label=once("late", "late delete (old receipt handle)"))
                ax.annotate(f"{d.deleter} deletes, late", xy=(x, y + 0.3), ha="center", fontsize=7)
    for j, fn in enumerate(poll_fns):
        y = len(poll_fns) - 1 - j
        for p in polls[polls["function"] == fn].itertuples(index=False):
            start, end = (p.start_ms - t0) / 1000, (p.end_ms - t0) / 1000
            ax.plot([start, max(end, start + 0.15)], [y, y], "-", color="dimgray", lw=4, solid_capstyle="butt",
                    label=once("poll", "ReceiveMessage call (long poll)"))
            ax.annotate(f"{p.duration_s:.1f} s, {p.messages} msg", xy=(start, y + 0.15), fontsize=7)
    ax.set_yticks(range(nrows))
    ax.set_yticklabels([f"polls by {fn}" for fn in reversed(poll_fns)] + [f"message {b}" for b in reversed(bodies)],
                       fontsize=8)
    ax.set_xlabel("time since the first event (s)")
    ax.set_xlim(-0.03 * span, span * 1.08)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    legend_below(fig, ax, ncol=3)
    return fig


def logged_messages_figure(messages: pd.DataFrame, windows: pd.DataFrame,
                           title: str = "What happened to each message"):
    """:func:`timeline_figure` for the frames a chapter builds from its handlers' JSON log lines:
    ``messages`` one row per line (``function``, ``event`` and the line's fields), ``windows`` one
    row per receive (the receive's fields with ``end_ms`` and ``ended_by``)."""
    sends = messages[messages["event"] == "send"].rename(columns={"time_ms": "sent_ms"})
    calls = messages[messages["event"] == "receive_call"]
    polls = pd.DataFrame({"function": calls["function"], "start_ms": calls["start_ms"], "end_ms": calls["end_ms"],
                          "duration_s": (calls["end_ms"] - calls["start_ms"]) / 1000,
                          "messages": calls["messages"].astype(int)})
    drawn = windows.rename(columns={"function": "receiver", "approximate_receive_count": "receive_count"}).astype(
        {"receive_count": int, "visibility_timeout_s": int})
    return timeline_figure(drawn, sends.astype({"body": str}), polls, title=title)


def _message_rows(fig, ax, labels: list[str], end: float, title: str, ylim: tuple[float, float], right: float):
    """Finish a figure with one row per message, bottom to top (``labels``), over the seconds since
    the first send (``end``: the last event's), its legend below."""
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(*ylim)
    ax.set_ylabel("message (in the order sent)")
    ax.set_xlabel("time since the first message was sent (s)")
    ax.set_xlim(-0.03 * max(end, 1), max(end, 1) * right)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    legend_below(fig, ax, ncol=2)
    return fig


def legend_below(fig, ax, ncol: int) -> None:
    """The legend in a band of its own under the axes, so it covers neither data nor the axis label."""
    handles, labels = ax.get_legend_handles_labels()
    rows = -(-len(labels) // ncol)
    height = fig.get_size_inches()[1]
    band = min(0.45, (0.25 * rows + 0.15) / height)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, band, 1, 1))


def poll_duration_figure(invocations: pd.DataFrame, wait_s: float, title: str = "How long each invocation took"):
    """Duration of every invocation (REPORT lines), in order, with the long-poll wait marked.
    ``invocations``: ``function``, ``duration_ms`` and the line's time (``timestamp``, as
    CloudWatch Logs names it, or ``timestamp_ms``)."""
    import matplotlib.pyplot as plt

    inv = invocations.sort_values("timestamp" if "timestamp" in invocations else "timestamp_ms",
                                  kind="stable").reset_index(drop=True)
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


def architecture_figure():
    """The stack: function1 sends to the queue; function2 receives; function3 receives and deletes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5)
    ax.axis("off")

    def box(x, y, w, h, text, hatch=""):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.08", fc="white", ec="black", lw=1.5,
                                    hatch=hatch))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9,
                bbox={"fc": "white", "ec": "none", "pad": 1})

    box(0.3, 2.0, 2.2, 1.0, "function1\nsend current time")
    box(3.9, 1.6, 2.4, 1.8, "SQS queue\nlong polling 20 s\nvisibility timeout 90 s", hatch="..")
    box(7.5, 3.3, 2.2, 1.0, "function2\nreceive")
    box(7.5, 0.7, 2.2, 1.0, "function3\nreceive + delete")
    arrow = {"arrowstyle": "-|>", "lw": 1.5, "color": "black"}
    ax.annotate("", xy=(3.85, 2.5), xytext=(2.6, 2.5), arrowprops=arrow)
    ax.text(3.2, 2.65, "SendMessage", ha="center", fontsize=8)
    ax.annotate("", xy=(6.35, 3.0), xytext=(7.45, 3.8), arrowprops=arrow)
    ax.text(6.9, 3.75, "ReceiveMessage", ha="center", fontsize=8)
    ax.annotate("", xy=(6.35, 2.0), xytext=(7.45, 1.2), arrowprops=arrow)
    ax.text(6.9, 1.0, "ReceiveMessage\n+ DeleteMessage", ha="center", fontsize=8)
    ax.text(5.1, 0.25, "each function logs to CloudWatch Logs: /aws/lambda/<name>", ha="center", fontsize=8,
            style="italic")
    ax.set_title("Three Lambda functions linked by one SQS queue")
    fig.tight_layout()
    return fig


def polling_cost_figure(table: pd.DataFrame, title: str = "Short versus long polling on a sparse stream"):
    """Requests (empty ones marked) and the monthly cost of one consumer, per polling mode."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    labels = [f"{m} polling\n(wait {w} s)" for m, w in zip(table["mode"], table["wait_s"], strict=True)]
    x = range(len(table))
    left.bar(x, table["requests"], color="white", edgecolor="black", hatch="", label="all ReceiveMessage requests")
    left.bar(x, table["empty_receives"], color="lightgrey", edgecolor="black", hatch="///", label="empty receives")
    for i, r in table.iterrows():
        left.annotate(f"{r['requests']} ({r['empty_receives']} empty)", xy=(i, r["requests"]), ha="center",
                      va="bottom", fontsize=8)
    left.set_xticks(list(x))
    left.set_xticklabels(labels)
    left.set_ylabel(f"requests in {table['duration_s'].iloc[0]:g} s")
    left.set_title("requests counted")
    left.legend(fontsize=8)
    right.bar(x, table["cost_usd_per_month"], color="grey", edgecolor="black")
    for i, r in table.iterrows():
        right.annotate(f"${r['cost_usd_per_month']:.2f}", xy=(i, r["cost_usd_per_month"]), ha="center", va="bottom",
                       fontsize=8)
    right.set_xticks(list(x))
    right.set_xticklabels(labels)
    right.set_ylabel("USD per month, one consumer")
    right.set_title("at the measured rate, all month")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- Lambda polls the queue (05, 06)

_BATCH_HATCHES = ["///", "\\\\\\", "...", "xx", "++", "oo"]
_BATCH_MARKERS = ["s", "^", "D", "v", "P", "p"]


def batches_figure(attempts: pd.DataFrame, batches: pd.DataFrame, window_s: float,
                   title: str = "Which message was in which invocation"):
    """One row per message (in the order sent): sent (open circle), processed (a filled marker,
    one shape per invocation). Each invocation's batching window is a hatched band over its
    messages' rows, from its first message's arrival to the invocation (a vertical line)."""
    import matplotlib.pyplot as plt

    first = attempts.sort_values("start_ms").groupby("message_id", sort=False).first().reset_index()
    first = first.sort_values("sent_ms", kind="stable").reset_index(drop=True)
    t0 = first["sent_ms"].min()
    n = len(first)
    row = {m: n - 1 - i for i, m in enumerate(first["message_id"])}
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.32 * max(n, 4)))
    once = LabelOnce()

    end = 0.0
    for b in batches.itertuples(index=False):
        mine = first[first["message_id"].isin(b.message_ids)]
        if mine.empty:
            continue
        k = (int(b.batch) - 1) % len(_BATCH_HATCHES)
        rows = [row[m] for m in mine["message_id"]]
        lo, hi = min(rows) - 0.4, max(rows) + 0.4
        opened = (mine["sent_ms"].min() - t0) / 1000
        invoked = (b.time_ms - t0) / 1000
        end = max(end, invoked)
        ax.fill_between([opened, invoked], lo, hi, facecolor="0.92", edgecolor="0.4", hatch=_BATCH_HATCHES[k], lw=0.8,
                        label=once("window", f"batching window (up to {window_s:g} s from the batch's first message)"))
        ax.plot([invoked, invoked], [lo - 0.1, hi + 0.1], "-", color="black", lw=2,
                label=once("invoke", "invocation: the function gets the batch"))
        ax.annotate(f"invocation {b.batch}\n{len(mine)} message{'s' * (len(mine) != 1)}", xy=(invoked, hi + 0.1),
                    xytext=(3, 0), textcoords="offset points", ha="left", va="bottom", fontsize=8)
        for m in mine.itertuples(index=False):
            y = row[m.message_id]
            sent, done = (m.sent_ms - t0) / 1000, (m.start_ms - t0) / 1000
            ax.plot([sent, done], [y, y], ":", color="black", lw=1)
            ax.plot(sent, y, "o", mfc="white", mec="black", ms=7, label=once("sent", "sent (SendMessage)"))
            ax.plot(done, y, _BATCH_MARKERS[k], color="black", ms=7,
                    label=once("done", "processed (its record in the invocation; shape by invocation)"))
    return _message_rows(fig, ax, [str(b) for b in reversed(first["body"].tolist())], end, title,
                         ylim=(-0.8, n + 0.7), right=1.12)


def sweep_figure(table: pd.DataFrame, title: str = "Invocations for the same messages, by mapping setting"):
    """Invocations per (BatchSize, batching window) setting, with the number of messages marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.2))
    x = range(len(table))
    for i, r in table.iterrows():
        ax.bar(i, r["invocations"], color="white", edgecolor="black", hatch=_BATCH_HATCHES[i % len(_BATCH_HATCHES)],
               label="invocations, counted from the logs (one batch each)" if i == 0 else None)
        sizes = r["batch_sizes"]
        if len(sizes) == 1:
            detail = f"1 invocation\none batch of {sizes[0]}"
        elif sizes:
            spread = f"{min(sizes)}-{max(sizes)}" if min(sizes) != max(sizes) else f"{sizes[0]}"
            detail = f"{r['invocations']} invocations\nbatches of {spread}"
        else:
            detail = "no invocation"
        ax.annotate(detail, xy=(i, r["invocations"]), xytext=(0, 4), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8, bbox={"fc": "white", "ec": "none", "pad": 1})
    sent = int(table["messages"].iloc[0])
    ax.axhline(sent, ls="--", color="black", lw=1, label=f"messages sent ({sent}): one invocation each at most")
    ax.set_xticks(list(x))
    ax.set_xticklabels([f"BatchSize {r.BatchSize}\nwindow {r.window_s:g} s" for r in table.itertuples()], fontsize=8)
    ax.set_ylabel("invocations of the function")
    ax.set_xlabel("event source mapping setting (the same trickle of messages to each)")
    ax.set_ylim(0, sent * 1.3)
    ax.set_title(title)
    legend_below(fig, ax, ncol=2)
    return fig


def attempts_figure(attempts: pd.DataFrame, dead_letters: pd.DataFrame | None = None,
                    visibility_timeout_s: float | None = None,
                    title: str = "Each attempt at each message, and the dead-letter queue"):
    """One row per message (in the order sent): sent (open circle), each attempt (black circle when
    the record succeeded and was deleted, grey when it succeeded but its batch failed, a cross when
    it failed) labelled with its ApproximateReceiveCount, and the arrival in the dead-letter queue (a square)."""
    import matplotlib.pyplot as plt

    att = attempts.sort_values("start_ms", kind="stable")
    order = att.groupby("message_id", sort=False)["sent_ms"].first().sort_values(kind="stable")
    t0 = order.min()
    n = len(order)
    row = {m: n - 1 - i for i, m in enumerate(order.index)}
    bodies = att.groupby("message_id")["body"].first()
    fig, ax = plt.subplots(figsize=(10, 1.7 + 0.42 * max(n, 3)))
    once = LabelOnce()

    end = 0.0
    dead = dead_letters if dead_letters is not None else pd.DataFrame(columns=["message_id", "arrived_ms"])
    for message_id, y in row.items():
        mine = att[att["message_id"] == message_id]
        sent = (order[message_id] - t0) / 1000
        xs = [(t - t0) / 1000 for t in mine["start_ms"]]
        arrived = dead.loc[dead["message_id"] == message_id, "arrived_ms"].dropna()
        last = (arrived.iloc[0] - t0) / 1000 if not arrived.empty else xs[-1]
        end = max(end, last, *xs)
        ax.plot([sent, *xs], [y] * (len(xs) + 1), ":", color="black", lw=1)
        ax.plot(sent, y, "o", mfc="white", mec="black", ms=7, label=once("sent", "sent (SendMessage)"))
        for x, a in zip(xs, mine.itertuples(index=False), strict=True):
            if a.outcome == "ok" and not a.kept:
                ax.plot(x, y, "o", color="black", ms=8, label=once("ok", "processed and deleted"))
            elif a.outcome == "ok":
                ax.plot(x, y, "o", mfc="0.6", mec="black", ms=8,
                        label=once("ok-kept", "processed fine, but its batch failed: not deleted"))
            else:
                ax.plot(x, y, "X", color="black", ms=10, label=once("failed", "record that failed (poison)"))
            ax.annotate(f"#{a.receive_count}", xy=(x, y + 0.18), ha="center", va="bottom", fontsize=8)
        if not arrived.empty:
            x = (arrived.iloc[0] - t0) / 1000
            ax.plot([xs[-1], x], [y, y], "--", color="0.4", lw=1.2)
            ax.plot(x, y, "s", mfc="0.75", mec="black", ms=10, label=once("dlq", "first seen in the dead-letter queue"))
    if visibility_timeout_s:
        ax.plot([], [], " ", label=once("vt", f"#n: ApproximateReceiveCount; attempts come back after the "
                                               f"{visibility_timeout_s:g} s visibility timeout"))
    return _message_rows(fig, ax, [str(bodies[m]) for m in reversed(list(order.index))], end, title,
                         ylim=(-0.7, n + 0.1), right=1.08)


def reprocessing_figure(table: pd.DataFrame,
                        title: str = "One poison message in a batch: how often the good ones are processed"):
    """Per setting, stacked: good messages processed once, good messages processed again, poison attempts."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.4))
    x = list(range(len(table)))
    once = table["good_messages"]
    again = table["good_again"]
    poison = table["poison_attempts"]
    ax.bar(x, once, color="white", edgecolor="black", label="good messages, first processing")
    ax.bar(x, again, bottom=once, color="0.8", edgecolor="black", hatch="///", label="good messages processed again")
    ax.bar(x, poison, bottom=once + again, color="0.5", edgecolor="black", hatch="xx", label="attempts at the poison message")
    for i, r in table.iterrows():
        total = r["good_messages"] + r["good_again"] + r["poison_attempts"]
        ax.annotate(f"{r['good_again']} good processed again\n{r['invocations']} invocations", xy=(i, total),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(table["setting"], fontsize=9)
    ax.set_ylabel("records processed (record lines in the logs)")
    ax.set_xlabel("event source mapping setting")
    top = (once + again + poison).max()
    ax.set_ylim(0, top * 1.3 + 1)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    legend_below(fig, ax, ncol=2)
    return fig
