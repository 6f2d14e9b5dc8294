"""The notebooks' Colab install cell outside Colab (it does nothing) and in Colab with no
repository address set (one line saying how); tests/integration/test_colab.py installs
the series with it in a fresh Colab-like environment."""


from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sqslab.config import NOTEBOOKS, ROOT
from sqslab.series import nav

# Colab's shell is google.colab._shell.Shell: the install cell's guard reads it from str(get_ipython()).
FAKE_COLAB = ("_ip = get_ipython()\n"
              "_ip.__class__ = type('Shell', (type(_ip),), {'__module__': 'google.colab._shell'})\n")


def ipython(python: Path, code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "IPython", "--quick", "--no-banner", "--colors=NoColor", "-c", code],
                          capture_output=True, text=True, env=env, timeout=300, cwd=env["HOME"])


def test_outside_colab_the_install_cell_does_nothing(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = ipython(Path(sys.executable), nav.install_cell_text("file:///nowhere") + "\nimport os\nprint(os.getcwd())\n",
                   env)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == str(tmp_path), done.stderr
    assert not (tmp_path / "sqslab").exists(), "nothing cloned"


def test_in_colab_without_a_repository_the_cell_says_what_to_set(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = ipython(Path(sys.executable), FAKE_COLAB + nav.install_cell_text(None), env)
    out = done.stdout + done.stderr
    assert "no git address is set: !git clone <the series' address> ~/sqslab, then %run " in out, out
    assert "Traceback" not in out, "one line, no traceback"


def test_binder_environment_installs_the_package_with_what_it_needs():
    """Binder (repo2docker) builds from environment.yml; a pip line that points into the repository
    (``-e .``) makes it copy the whole repository before installing. Every dependency of the package
    and of its jupyter extra is listed for conda too, so the environment resolves in one step, or,
    where the package is on PyPI only, in the pip section before the package itself."""
    import re

    import yaml

    tomllib = pytest.importorskip("tomllib", reason="reads pyproject.toml with Python 3.11's tomllib")

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e .[jupyter]" in pip
    wanted = project["dependencies"] + project["optional-dependencies"]["jupyter"]
    from_pip = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in pip if not d.startswith("-")}
    missing = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in wanted} - conda - from_pip
    assert missing == set(), f"environment.yml lacks {missing}"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    low = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, low.split(".")))


def test_every_notebooks_install_cell_is_three_code_lines_at_most():
    """A guard, the install and one call that sets up (its logic in scripts/colab_setup.py)."""

    for path in nav.series(NOTEBOOKS):
        cell = next(c for c in nbformat.read(path, as_version=4).cells if c.get("id") == nav.INSTALL_ID)
        code = [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert len(code) <= 3, f"{path.name}: {code}"
