"""Installed Python distributions as files: what a distribution puts in site-packages.

Both worlds use it: the offline runtime gathers the libraries Lambda's Python runtime
ships (:mod:`sqslab.offline.awslambda.runtime_libs`), and packaging builds a layer
from the distributions installed here (:mod:`sqslab.deploy.code_zip`), so neither
needs the network.
"""

from __future__ import annotations

import importlib.metadata as metadata
from pathlib import Path


def top_level_names(dist: metadata.Distribution) -> list[str]:
    """The names a distribution puts at the root of site-packages (packages, modules, its dist-info)."""
    names = set()
    for f in dist.files or []:
        parts = Path(f).parts
        if parts and parts[0] not in ("..", "__pycache__") and not parts[0].endswith(".pth"):
            names.add(parts[0])
    return sorted(names)


def package_files(dist: metadata.Distribution) -> list[tuple[str, Path]]:
    """(path inside site-packages, file on disk) of everything a distribution installed there,
    without compiled caches, .pth hooks and files outside site-packages (scripts)."""
    out = []
    for f in dist.files or []:
        parts = Path(f).parts
        if not parts or parts[0] == ".." or parts[0].endswith(".pth") or "__pycache__" in parts \
                or str(f).endswith(".pyc"):
            continue
        path = Path(dist.locate_file(f))
        if path.is_file():
            out.append((Path(f).as_posix(), path))
    return sorted(out)
