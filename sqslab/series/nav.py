"""Navigation cells for the notebook series: ``< prev | Contents | next >``.

Writes (or, with ``--check``, verifies) a markdown cell holding the
``<!--NAVIGATION-->`` marker as the second and the last cell of every numbered
notebook, in file-name order. The index notebook is the contents page.

The third cell of every notebook installs the series when it runs in Colab
(and does nothing anywhere else): it clones the repository and runs
``scripts/colab_setup.py`` from the clone. Both follow the repository's address in
``pyproject.toml`` (``[project.urls] Repository``, :func:`sqslab.config.repository`):
with a GitHub address, the navigation also links each notebook in Colab and
Binder; with none set, there are no such links and the install cell asks for one.

    python -m sqslab.series.nav [--check] [notebooks/]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat

from sqslab.config import repository

MARK = "<!--NAVIGATION-->"
INDEX = "00_index.ipynb"
INSTALL_ID = "colab-install"
BRANCH = "main"


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


def launch_links(repo: str | None, path: Path) -> str:
    """"Open in Colab | Binder" for a notebook of a GitHub repository; empty for any other address."""
    found = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo or "")
    if not found:
        return ""
    owner, name = found.groups()
    colab = f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/notebooks/{path.name}"
    binder = f"https://mybinder.org/v2/gh/{owner}/{name}/{BRANCH}?labpath={quote(f'notebooks/{path.name}', safe='')}"
    return f"Open this notebook in [Colab]({colab}) or [Binder]({binder})"


def nav_text(paths: list[Path], i: int, repo: str | None = None) -> str:
    parts = []
    if i > 0:
        parts.append(f"< [{title_of(paths[i - 1])}]({paths[i - 1].name})")
    parts.append(f"[Contents]({INDEX})")
    if i + 1 < len(paths):
        parts.append(f"[{title_of(paths[i + 1])}]({paths[i + 1].name}) >")
    launch = launch_links(repo, paths[i])
    return f"{MARK}\n" + " | ".join(parts) + (f"\n\n{launch}" if launch else "")


COLAB_SETUP = "~/sqslab/scripts/colab_setup.py"


def install_cell_text(repo: str | None) -> str:
    """The first code cell: in Colab only, clones the series into ~/sqslab (once) and runs
    ``scripts/colab_setup.py`` from it; anywhere else it does nothing. With no repository
    address set, in Colab it says in one line how to do it by hand."""
    guard = 'if "google.colab" in str(get_ipython()):'
    if not repo:
        return "\n".join([
            "# extra code – in Colab: says how to fetch and install the series (this copy names no git address);"
            " anywhere else: nothing",
            guard,
            f"    raise SystemExit(\"no git address is set: !git clone <the series' address> ~/sqslab, then %run {COLAB_SETUP}\")",
        ])
    return "\n".join([
        "# extra code – in Colab: fetches the series and installs it (about a minute); anywhere else: nothing",
        guard,
        f"    !test -d ~/sqslab || git clone --quiet --depth 1 {repo} ~/sqslab",
        f"    %run {COLAB_SETUP}",
    ])


def _is_install(cell) -> bool:
    return cell.cell_type == "code" and cell.get("id") == INSTALL_ID


def _is_nav(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(MARK)


def apply(folder: Path, check: bool = False, repo: str | None = None, read_repository: bool = True) -> list[str]:
    """Write navigation and the Colab install cell; returns the notebooks that were (or,
    checking, would be) changed. ``repo``: the repository's address, by default pyproject.toml's."""
    paths = series(folder)
    if repo is None and read_repository:
        repo = repository()
    changed = []
    for i, path in enumerate(paths):
        nb = nbformat.read(path, as_version=4)
        text = nav_text(paths, i, repo)
        cells = [c for c in nb.cells if not _is_nav(c) and not _is_install(c)]
        top = nbformat.v4.new_markdown_cell(text)
        bottom = nbformat.v4.new_markdown_cell(text)
        install = nbformat.v4.new_code_cell(install_cell_text(repo))
        top.id, bottom.id, install.id = "navigation-top", "navigation-bottom", INSTALL_ID
        install.metadata["tags"] = ["colab"]
        new = cells[:1] + [top, install] + cells[1:] + [bottom]
        if [(c.cell_type, c.source, c.get("id")) for c in new] != [(c.cell_type, c.source, c.get("id")) for c in nb.cells]:
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
        print(f"navigation is stale in: {', '.join(changed)}; run python -m sqslab.series.nav", file=sys.stderr)
        return 1
    print("navigation " + ("checked" if args.check else f"written ({len(changed)} changed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
