"""Deployment packages and layers, as Lambda limits them, and unpacked safely.

Lambda's quotas ("Lambda quotas", and the API reference's AccountLimit): a function's
deployment package and its layers, extracted, may hold at most 262,144,000 bytes
(250 MB); a package uploaded directly (``ZipFile`` in the request) may be at most
50 MB zipped, which Lambda enforces on the request (69,905,067 bytes of base64 text:
``RequestEntityTooLargeException``). Lambda refuses a package over the unzipped quota
when it is created or updated, with ``InvalidParameterValueException``: "Unzipped
size must be smaller than 262144000 bytes", and a function whose code and layers
together are over it with "Function code combined with layers exceeds the maximum
allowed size of 262144000 bytes. The actual size is N bytes."

:func:`check_package` reads a zip's directory (the sizes it declares, its names and
links) without writing anything; :func:`unpack` writes it, counting the bytes it
really writes (a zip's declared sizes can lie), never following or creating a link
that leads outside the package, and leaving nothing behind when anything fails.
An unpacked package is read-only, as ``/var/task`` is on Lambda.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import uuid
import zipfile
from pathlib import Path, PurePosixPath

UNZIPPED_LIMIT = 262_144_000
DIRECT_UPLOAD_LIMIT = 69_905_067  # a 50 MB zip, base64-encoded in the request
_CHUNK = 1 << 20


class PackageError(Exception):
    """A package Lambda would refuse: its error code, HTTP status and message."""

    def __init__(self, message: str, code: str = "InvalidParameterValueException", status: int = 400):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


def _unzip_error() -> PackageError:
    return PackageError("Could not unzip uploaded file. Please check your file, then try to upload again.")


def _member_path(name: str) -> PurePosixPath | None:
    """Where an entry goes inside the package: ``..``, absolute and drive parts dropped, as zipfile does."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":
        parts = parts[1:]
    return PurePosixPath(*parts) if parts else None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _link_stays_inside(member: PurePosixPath, target: str) -> bool:
    if not target or target.startswith("/") or "\\" in target or "\0" in target:
        return False
    depth = len(member.parts) - 1  # the link's own folder, counted from the package's root
    for part in PurePosixPath(target).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part != ".":
            depth += 1
    return True


def unzipped_size(data: bytes) -> int:
    """The extracted size a zip declares; InvalidParameterValueException for one that is not a
    zip, or that holds a link leading outside the package."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = 0
            leaves: set[PurePosixPath] = set()  # files and links: nothing can be unpacked under them
            for info in zf.infolist():
                total += info.file_size
                member = _member_path(info.filename)
                if member is not None and any(parent in leaves for parent in member.parents):
                    raise PackageError(f"Could not unzip uploaded file: {info.filename} is under a file or link of "
                                       "the same package. Please check your file, then try to upload again.")
                if member is not None and not info.is_dir():
                    leaves.add(member)
                if member is not None and _is_link(info):
                    target = zf.read(info).decode("utf-8", "replace") if info.file_size <= 4096 else ""
                    if not _link_stays_inside(member, target):
                        raise PackageError(f"The package holds a link that leads outside it: {info.filename} -> "
                                           f"{target[:200]}. Package the file itself, or a link within the package.")
            return total
    except PackageError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError, OSError):
        raise _unzip_error() from None


def check_package(data: bytes) -> int:
    """One package (a function's code, or a layer) within the unzipped quota; its size."""
    size = unzipped_size(data)
    if size >= UNZIPPED_LIMIT:
        raise PackageError(f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes")
    return size


def check_function(code: bytes, layers: list[bytes]) -> None:
    """A function's code and its layers together within the unzipped quota."""
    total = check_package(code) if code else 0
    for layer in layers:
        total += unzipped_size(layer)
    if total >= UNZIPPED_LIMIT:
        raise PackageError(f"Function code combined with layers exceeds the maximum allowed size of {UNZIPPED_LIMIT} "
                           f"bytes. The actual size is {total} bytes.")


# ---------------------------------------------------------------- unpacking


def remove_tree(path: Path) -> None:
    """Remove an unpacked package (read-only folders included); nothing if it is gone."""
    if not os.path.lexists(path):
        return
    for folder, dirs, _files in os.walk(path):
        for d in dirs:
            p = os.path.join(folder, d)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    if not os.path.islink(path):
        os.chmod(path, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _inside(root: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, tmp: Path, budget: list[int]) -> None:
    member = _member_path(info.filename)
    if member is None:
        return
    root = os.path.realpath(tmp)
    dest = tmp.joinpath(*member.parts)
    if not _inside(root, str(dest.parent)):
        raise PackageError(f"The package writes through a link that leads outside it: {info.filename}.")
    if info.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, str(dest.parent)):
        raise PackageError(f"The package writes through a link that leads outside it: {info.filename}.")
    if os.path.lexists(dest) and (dest.is_symlink() or not dest.is_dir()):
        dest.unlink()  # a later layer's file replaces an earlier one's; a link is replaced, never written through
    if _is_link(info):
        target = zf.read(info).decode("utf-8", "replace")
        if not _link_stays_inside(member, target):
            raise PackageError(f"The package holds a link that leads outside it: {info.filename}.")
        os.symlink(target, dest)
        return
    with zf.open(info) as src, open(dest, "xb") as out:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise PackageError(f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes")
            out.write(chunk)
    mode = (info.external_attr >> 16) & 0o777
    os.chmod(dest, 0o555 if mode & 0o111 else 0o444)


def _read_only(tmp: Path) -> None:
    for folder, dirs, _files in os.walk(tmp, topdown=False):
        for d in dirs:
            p = os.path.join(folder, d)
            if not os.path.islink(p):
                os.chmod(p, 0o555)
    os.chmod(tmp, 0o555)


def unpack(root: Path, zips: list[bytes], limit: int = UNZIPPED_LIMIT) -> Path:
    """``zips`` unpacked in order into ``root`` (once: an existing ``root`` is kept), read-only.
    Raises :class:`PackageError` (code ``InvalidZipFileException``, 502, as Lambda's Invoke answers a
    package it cannot unzip) and leaves nothing behind on any failure, a full disk included."""
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = root.with_name(f".{root.name}.{uuid.uuid4().hex[:8]}")
    budget = [limit]
    try:
        tmp.mkdir(mode=0o700)
        for data in zips:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    _write_member(zf, info, tmp, budget)
        _read_only(tmp)
        try:
            os.replace(tmp, root)
        except OSError:  # another thread unpacked the same code first
            remove_tree(tmp)
        return root
    except PackageError as err:
        remove_tree(tmp)
        raise PackageError(f"Lambda could not unzip the deployment package: {err.message}",
                           "InvalidZipFileException", 502) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError) as err:
        remove_tree(tmp)
        raise PackageError(f"Lambda could not unzip the deployment package: {err}", "InvalidZipFileException",
                           502) from None
    except OSError as err:
        remove_tree(tmp)
        raise PackageError(f"Lambda could not unzip the deployment package: {err.strerror or err}",
                           "InvalidZipFileException", 502) from None
