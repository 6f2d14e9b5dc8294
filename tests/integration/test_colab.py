"""The notebooks' Colab install cell, run as Colab would run it: in a fresh Python
environment that has the dependencies but not sqslab, in an IPython shell that has
``google.colab`` loaded, with the series' repository given as a git address (here a
local clone, so nothing leaves the machine). The cell (three code lines) must clone, and
scripts/colab_setup.py install, put the package on the path and move to the notebooks;
the next cell's setup must start the offline server from there. Run again, it must not clone a second time."""


from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import free_port

from sqslab.config import ROOT
from sqslab.series import nav

# Colab's shell is google.colab._shell.Shell: the install cell's guard reads it from str(get_ipython()).
FAKE_COLAB = ("_ip = get_ipython()\n"
              "_ip.__class__ = type('Shell', (type(_ip),), {'__module__': 'google.colab._shell'})\n")


def ipython(python: Path, code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "IPython", "--quick", "--no-banner", "--colors=NoColor", "-c", code],
                          capture_output=True, text=True, env=env, timeout=300, cwd=env["HOME"])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and a git checkout")
def test_the_install_cell_installs_the_series_in_a_fresh_colab_like_environment(tmp_path):
    port = free_port()
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(remote)], check=True)
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    fresh_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies (and pip) as a hosted runtime has them preinstalled; sqslab itself is not among them.
    deps = Path(sysconfig.get_paths()["purelib"])
    (Path(fresh_site) / "deps.pth").write_text(f"{deps}\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "SQSLAB_HOME": str(tmp_path / "state"),
           "SQSLAB_OFFLINE_PORT": str(port), "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1",
           "PIP_NO_BUILD_ISOLATION": "false",  # pip reads this one inverted: "false" means --no-build-isolation
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "LANG": "C.UTF-8"}
    cell = nav.install_cell_text(f"file://{remote}")
    after = ("\nimport os, sqslab\nprint('package', sqslab.__file__)\nprint('cwd', os.getcwd())\n"
             "from sqslab.lab import notebook as nb\n"
             "lab = nb.setup('offline', 'sqslab', 'quick', None, None)\nprint('endpoint', lab.target.endpoint_url)\n")
    try:
        first = ipython(python, FAKE_COLAB + cell + after, env)
        out = first.stdout + first.stderr
        assert f"package {home}/sqslab/sqslab/__init__.py" in out, out
        assert f"cwd {home}/sqslab/notebooks" in out, out
        assert f"endpoint http://127.0.0.1:{port}" in out, out
        again = ipython(python, FAKE_COLAB + cell + after, env)
        assert f"cwd {home}/sqslab/notebooks" in again.stdout, again.stdout + again.stderr
        assert "Cloning" not in again.stdout + again.stderr
    finally:
        subprocess.run([str(python), "-m", "sqslab.cli", "offline", "stop"], env=env, capture_output=True,
                       cwd=home / "sqslab" if (home / "sqslab").exists() else home, timeout=60)
