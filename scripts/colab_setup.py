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

import importlib.util
import os
import subprocess
import sys
from pathlib import Path


def series_root(script: str) -> Path:
    return Path(script).resolve().parent.parent


def installed_from(root: Path) -> bool:
    spec = importlib.util.find_spec("sqslab")
    return spec is not None and spec.origin is not None and Path(spec.origin).resolve().is_relative_to(root)


def main(script: str) -> None:
    root = series_root(script)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if not installed_from(root) or importlib.util.find_spec("moto") is None:
        print("installing the series and what it needs (about a minute) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(root)], check=True)
    os.chdir(root / "notebooks")
    print(f"the series is installed from {root}; working in {root / 'notebooks'}")


if __name__ == "__main__":
    main(__file__)
