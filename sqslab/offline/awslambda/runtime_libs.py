"""The libraries Lambda's Python runtime ships, in a directory of their own.

Lambda's Python runtimes include the AWS SDK for Python (boto3) and its
dependencies (botocore, s3transfer, jmespath, python-dateutil, six, urllib3); a
handler can import those and nothing else it did not bring in its deployment
package or a layer ("Building Lambda functions with Python", "Working with .zip
file archives for Python Lambda functions": Dependency search path and
runtime-included libraries). Offline, a handler sees the same set: this module
gathers the installed copies of these distributions (the ones the server itself
runs on, so no network is needed) into ``STATE_DIR/runtime/pythonX.Y-KEY/``, the
worker's ``LAMBDA_RUNTIME_DIR`` and ``PYTHONPATH``. The rest of the server's
environment (pandas, moto, sqslab itself) stays out of the handler's reach.

Each entry is a symbolic link to the installed package (a copy where links are
not possible), so building costs milliseconds and no disk space; ``KEY`` names
the set of versions, so an upgrade of the environment gives a new directory.

Versions: Lambda updates the SDK in its runtimes from time to time, and its
documentation no longer lists a version per runtime; it says to print
``boto3.__version__`` from a function ("Runtime-included SDK versions"). The
versions offline are the installed ones (:func:`versions`, shown by ``sqslab
offline status``): usually newer than the ones a Lambda region runs at a given
moment.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import os
import shutil
import sys
import threading
import uuid
from pathlib import Path

from sqslab.base.distributions import top_level_names

# boto3 and the closure of its required dependencies, as Lambda's runtime ships them.
DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")

_LOCK = threading.Lock()
_BUILT: dict[Path, Path] = {}


def versions() -> dict[str, str]:
    """The version of each runtime-included distribution offline."""
    return {name: metadata.version(name) for name in DISTRIBUTIONS}


def ensure(state_dir: Path) -> Path:
    """The runtime libraries directory under ``state_dir``, built once per set of installed versions."""
    state_dir = Path(state_dir)
    with _LOCK:
        if state_dir in _BUILT and _BUILT[state_dir].is_dir():
            return _BUILT[state_dir]
        dists = [metadata.distribution(name) for name in DISTRIBUTIONS]
        stamp = "|".join(f"{d.metadata['Name']}=={d.version}@{d.locate_file('')}" for d in dists)
        key = hashlib.sha256(f"{sys.version}|{stamp}".encode()).hexdigest()[:12]
        root = state_dir / "runtime" / f"python{sys.version_info.major}.{sys.version_info.minor}-{key}"
        if not root.is_dir():
            _build(root, dists)
        _BUILT[state_dir] = root
        return root


def _build(root: Path, dists: list[metadata.Distribution]) -> None:
    tmp = root.with_name(f".{root.name}.{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        for dist in dists:
            for name in top_level_names(dist):
                src = Path(dist.locate_file(name))
                if not src.exists():
                    continue
                dst = tmp / name
                try:
                    os.symlink(src, dst, target_is_directory=src.is_dir())
                except OSError:  # no symbolic links here (Windows without the privilege): copy
                    if src.is_dir():
                        shutil.copytree(src, dst)
                    else:
                        shutil.copy2(src, dst)
        (tmp / "sqslab-runtime-libraries.json").write_text(
            json.dumps({d.metadata["Name"]: d.version for d in dists}, indent=1) + "\n"
        )
        os.replace(tmp, root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not root.is_dir():  # not another process's build that won the race
            raise
