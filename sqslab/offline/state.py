"""The offline server's state directory: one user's, and private to that user.

The state directory (``$SQSLAB_HOME/offline``, by default ``~/.sqslab/offline``) holds
the credentials that open the server, its log, its state file and the unpacked function
code. Like ssh with a key file, sqslab uses it only if it is the user's own:

- it is made with mode 0700 (and ``$SQSLAB_HOME`` too, when sqslab makes it), and every
  file sqslab writes there is the user's alone (0600);
- a state directory, or a file in it, owned by another user is refused in one line,
  whatever ``SQSLAB_HOME`` says: another user could have put their own credentials
  there and so opened the server to themselves;
- one of the user's own with wider modes (as earlier versions made it) is tightened in
  place, and refused only if that fails;
- a ``SQSLAB_HOME`` that is a file, or a folder that cannot be made or written, is one
  line too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqslab.base.errors import SqslabError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# Files sqslab keeps directly in the state directory (their folders are private with it).
FILES = ("credentials", "server.json", "server.log", "start.lock")


def home() -> Path:
    raw = os.environ.get("SQSLAB_HOME")
    if not raw:
        return Path(os.path.join(os.path.expanduser("~"), ".sqslab"))
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):  # read from another folder, it would name another state directory
        raise SqslabError(f"SQSLAB_HOME={raw!r} is a relative path: give an absolute one (such as "
                          f"{os.path.abspath(path)}), so every command and notebook finds the same server")
    return Path(path)


def directory() -> Path:
    return home() / "offline"


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _where() -> str:
    return "SQSLAB_HOME" if os.environ.get("SQSLAB_HOME") else "the default ~/.sqslab"


def _refuse_foreign(path: Path, st: os.stat_result, what: str) -> None:
    if st.st_uid != os.geteuid():
        raise SqslabError(f"{what} {path} belongs to another user, {_owner(st.st_uid)}: sqslab keeps the offline "
                          f"server's credentials there and will not use one that others control; set SQSLAB_HOME "
                          "to a folder of your own")


def _tighten(path: Path, st: os.stat_result, mode: int, what: str) -> None:
    if stat.S_IMODE(st.st_mode) & 0o077:
        try:
            os.chmod(path, mode)
        except OSError as err:
            raise SqslabError(f"{what} {path} is open to other users (mode {stat.S_IMODE(st.st_mode):o}) and could "
                              f"not be made private ({err.strerror}): make it yours alone (chmod {mode:o}) or set "
                              "SQSLAB_HOME to a folder of your own") from None


def _make(path: Path, what: str) -> None:
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except FileExistsError:
        pass
    except OSError as err:
        raise SqslabError(f"cannot make {what} {path} ({err.strerror}): set SQSLAB_HOME to a folder you can "
                          "write") from None


def ensure(create: bool = True) -> Path:
    """The state directory, checked (and made, when ``create``): the user's own, private, writable.
    Returns its path; SqslabError (one line) for anything else."""
    top, sdir = home(), directory()
    for path, what in ((top, f"the sqslab home ({_where()})"), (sdir, "the state directory")):
        try:
            st = path.stat()
        except FileNotFoundError:
            if not create:
                return sdir
            _make(path, what)
            st = path.stat()
        except OSError as err:
            raise SqslabError(f"cannot use {what} {path} ({err.strerror}): set SQSLAB_HOME to a folder of your "
                              "own") from None
        if not stat.S_ISDIR(st.st_mode):
            raise SqslabError(f"{what} {path} is not a folder: set SQSLAB_HOME to a folder (or unset it to use "
                              "~/.sqslab)")
        if path == top and st.st_uid != os.geteuid():
            # a shared folder (such as /tmp) may hold the state directory only if others cannot replace it
            if stat.S_IMODE(st.st_mode) & 0o022 and not st.st_mode & stat.S_ISVTX:
                raise SqslabError(f"{what} {path} belongs to {_owner(st.st_uid)} and others may write in it: set "
                                  "SQSLAB_HOME to a folder of your own")
            continue
        _refuse_foreign(path, st, what)
        if path == sdir:  # $SQSLAB_HOME itself may be any folder of the user's: only its offline/ is tightened
            _tighten(path, st, PRIVATE_DIR, what)
    if not os.access(sdir, os.W_OK | os.X_OK):
        if create or sdir.exists():
            raise SqslabError(f"the state directory {sdir} is not writable: make it writable (chmod u+w) or set "
                              "SQSLAB_HOME to a folder you can write")
    for name in FILES:
        path = sdir / name
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            raise SqslabError(f"{path} is a link: sqslab writes its own files only; remove it")
        _refuse_foreign(path, st, "the file")
        _tighten(path, st, PRIVATE_FILE, "the file")
    return sdir
