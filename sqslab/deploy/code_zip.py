"""Lambda deployment packages: the one zipper, for a folder of code (what packaging a
template uploads) and for a few files given as text (the smoke check, the role probe,
the tests' functions). The zip is deterministic: names sorted, timestamps fixed, so the
same code gives the same artifact key."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

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
