"""Sets the series up in a hosted notebook (Colab) from the clone this file is in.

Every notebook's first code cell runs it there, after cloning the series into
``~/sqslab``::

    %run ~/sqslab/scripts/colab_setup.py

It installs the package from the clone (pip, editable: the notebooks, the handlers
and the templates stay in the clone), puts it on the running kernel's path, and
moves the kernel to the notebooks' folder, where the chapters find their files.
Run again, it installs nothing. Standard library only: sqslab is not importable
before it runs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse


def series_root(script: str) -> Path:
    return Path(script).resolve().parent.parent


def installed_from(root: Path) -> bool:
    """Whether pip has installed sqslab from this clone in this environment (so the offline
    server's own process, started with this Python, imports it too): the install's
    ``direct_url.json`` (PEP 610) names the clone."""
    try:
        found = importlib.metadata.distribution("sqslab").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return False
    url = json.loads(found or "{}").get("url", "")
    return url.startswith("file://") and Path(unquote(urlparse(url).path)).resolve() == root


def main(script: str) -> None:
    root = series_root(script)
    if not installed_from(root):
        print("installing the series and what it needs (about a minute) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(root)], check=True)
    if str(root) not in sys.path:  # this kernel started before the install: it sees the package from here
        sys.path.insert(0, str(root))
    os.chdir(root / "notebooks")
    print(f"the series is installed from {root}; working in {root / 'notebooks'}")


if __name__ == "__main__":
    main(__file__)
