"""Navigation cells for the notebook series: ``< prev | Contents | next >``.

Writes (or, with ``--check``, verifies) a markdown cell holding the
``<!--NAVIGATION-->`` marker as the second and the last cell of every numbered
notebook, in file-name order. The index notebook is the contents page.

    python -m sqslab.nav [--check] [notebooks/]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

MARK = "<!--NAVIGATION-->"
INDEX = "00_index.ipynb"


def series(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def title_in(nb, default: str = "") -> str:
    """A notebook's title: its first ``# `` heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def title_of(path: Path) -> str:
    return title_in(nbformat.read(path, as_version=4), path.stem)


def nav_text(paths: list[Path], i: int) -> str:
    parts = []
    if i > 0:
        parts.append(f"< [{title_of(paths[i - 1])}]({paths[i - 1].name})")
    parts.append(f"[Contents]({INDEX})")
    if i + 1 < len(paths):
        parts.append(f"[{title_of(paths[i + 1])}]({paths[i + 1].name}) >")
    return f"{MARK}\n" + " | ".join(parts)


def _is_nav(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(MARK)


def apply(folder: Path, check: bool = False) -> list[str]:
    """Write navigation; returns the notebooks that were (or, checking, would be) changed."""
    paths = series(folder)
    changed = []
    for i, path in enumerate(paths):
        nb = nbformat.read(path, as_version=4)
        text = nav_text(paths, i)
        cells = [c for c in nb.cells if not _is_nav(c)]
        top = nbformat.v4.new_markdown_cell(text)
        bottom = nbformat.v4.new_markdown_cell(text)
        top.id, bottom.id = "navigation-top", "navigation-bottom"
        new = cells[:1] + [top] + cells[1:] + [bottom]
        if [(c.cell_type, c.source) for c in new] != [(c.cell_type, c.source) for c in nb.cells]:
            changed.append(path.name)
            if not check:
                nb.cells = new
                nbformat.write(nb, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if any navigation cell is missing or stale")
    parser.add_argument("folder", nargs="?", default="notebooks")
    args = parser.parse_args(argv)
    changed = apply(Path(args.folder), check=args.check)
    if args.check and changed:
        print(f"navigation is stale in: {', '.join(changed)}; run python -m sqslab.nav", file=sys.stderr)
        return 1
    print("navigation " + ("checked" if args.check else f"written ({len(changed)} changed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
