"""Lambda deployment packages: the one zipper, for a folder of code (what packaging a
template uploads), for a few files given as text (the smoke check, the role probe, the
tests' functions), and for a layer of installed Python distributions. The zip is
deterministic: names sorted, timestamps fixed, so the same code gives the same artifact
key."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqslab.base.distributions import package_files
from sqslab.base.errors import SqslabError


def zip_files(files: dict[str, str | bytes]) -> bytes:
    """A deployment package holding ``files`` (name in the package -> its text or bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = files[name]
            zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return buf.getvalue()


def zip_directory(path: Path) -> bytes:
    """A folder's files as a deployment package (``__pycache__`` and ``.pyc`` left out)."""
    if not path.is_dir():
        raise SqslabError(f"function code directory not found: {path}")
    files = {}
    for file in path.rglob("*"):
        rel = file.relative_to(path).as_posix()
        if file.is_file() and "__pycache__" not in rel and not rel.endswith(".pyc"):
            files[rel] = file.read_bytes()
    return zip_files(files)


def zip_distributions(requirements: list[str]) -> bytes:
    """A layer of the Python distributions named in ``requirements`` (``name`` or
    ``name==version``), from the copies installed here, under ``python/`` where Lambda's
    Python runtimes look for a layer's packages ("Working with layers for Python Lambda
    functions"). Nothing is downloaded: a distribution not installed, or installed at
    another version than pinned, is one clear line."""
    import importlib.metadata as metadata
    import re

    files: dict[str, bytes] = {}
    for line in requirements:
        wanted = line.split("#", 1)[0].strip()
        if not wanted:
            continue
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([^\s;]+))?", wanted)
        if not found:
            raise SqslabError(f"layer requirement {wanted!r} is not 'name' or 'name==version'")
        name, pinned = found.groups()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SqslabError(f"the layer needs {name}, which is not installed here: pip install "
                              f"'{wanted}' (layers are built from the installed copy, not downloaded)") from None
        if pinned and dist.version != pinned:
            raise SqslabError(f"the layer pins {name}=={pinned} but {dist.version} is installed: pip install "
                              f"'{wanted}'")
        for inside, path in package_files(dist):
            files[f"python/{inside}"] = path.read_bytes()
    if not files:
        raise SqslabError("the layer's requirements.txt names no distribution")
    return zip_files(files)
