"""The notebook series as committed: complete, without outputs, opening and closing the
same way, its navigation current (tests/integration/test_notebooks.py executes it)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from sqslab.series import nav, tutorial

NOTEBOOKS = sorted(tutorial.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def load(p: Path):
    return nbformat.read(p, as_version=4)


def test_series_is_complete():
    names = [p.name for p in NOTEBOOKS]
    assert names[0] == "00_index.ipynb" and names[-1] == "99_cleanup.ipynb"
    assert {"01_deploy.ipynb", "02_invoke.ipynb", "03_visibility_timeout.ipynb", "04_long_polling.ipynb",
            "05_event_source_mapping.ipynb", "06_failures_and_dead_letter_queues.ipynb"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for cell in load(path).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_and_closes_the_same_way(path):
    nb = load(path)
    first = nb.cells[0].source
    assert first.startswith("# ") and "**You will learn**" in first and "**Before this:**" in first
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    setup = [c for c in nb.cells[:6] if c.cell_type == "code" and "lab = nb.setup(" in c.source]
    assert len(setup) == 1, "one setup cell, near the top"
    closing = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Summary and takeaways")]
    assert len(closing) == 1 and re.search(r"\]\(\w+\.ipynb\)", closing[0].source)
    assert nb.cells[1].source.startswith(nav.MARK) and nb.cells[-1].source.startswith(nav.MARK)


def test_navigation_is_current():
    assert nav.apply(tutorial.NOTEBOOKS, check=True) == []


def test_navigation_check_catches_drift(tmp_path):
    for p in NOTEBOOKS[:3]:
        (tmp_path / p.name).write_text(p.read_text())
    assert nav.apply(tmp_path, check=True) != []  # two of three links now point past the end
    nav.apply(tmp_path)
    assert nav.apply(tmp_path, check=True) == []
