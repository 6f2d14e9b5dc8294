"""Checks of what a user passes in, made where it enters sqslab (the command line,
the Python API, a notebook's parameters), before anything is sent or created.

Each check returns the value in the form sqslab uses, or raises
:class:`~sqslab.base.errors.SqslabError` with one line saying what is wrong and what
to do. The rules are AWS's own where AWS has one (each names its source).
Nothing here imports an AWS SDK.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

from sqslab.base.errors import SqslabError
from sqslab.config import TEMPLATE_WORDS

# CloudFormation API Reference, CreateStack: "A stack name can contain only alphanumeric
# characters (case sensitive) and hyphens. It must start with an alphabetic character
# and can't be longer than 128 characters."
_STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
# Amazon S3 User Guide, "General purpose bucket naming rules": 3 to 63 characters;
# lowercase letters, numbers, dots and hyphens; begins and ends with a letter or number;
# not formatted as an IP address.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")
# Lambda API Reference, Invoke: FunctionName is a name (up to 64 characters of letters,
# numbers, hyphens and underscores), a partial ARN or an ARN (up to 140 characters).
_FUNCTION = re.compile(r"(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
                       r"[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]+))?")
# Lambda quotas: 6 MB for a synchronous invocation's request payload.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


def _text(value, what: str, example: str) -> str:
    if not isinstance(value, str):
        raise SqslabError(f"{what} must be text, not {type(value).__name__} {value!r:.40}: for example {example}")
    return value


def _matching(value, pattern: re.Pattern, what: str, example: str, refusal: str, empty: str) -> str:
    """``value`` when it is text that ``pattern`` matches whole; else one line, ``refusal``
    with ``{shown}`` standing for the value (or ``empty`` when it is empty)."""
    value = _text(value, what, example)
    if not pattern.fullmatch(value):
        raise SqslabError(refusal.format(shown=repr(value) if value else empty))
    return value


def stack_name(value) -> str:
    return _matching(value, _STACK_NAME, "the stack name", "'sqslab'",
                     "stack name {shown} is not allowed: use letters, digits and hyphens, starting with a letter, "
                     "at most 128 characters (for example --stack-name sqslab-2)", "empty")


def bucket_name(value) -> str | None:
    if value is None:
        return None
    value = _text(value, "the bucket name", "'my-artifacts-bucket'")
    if not _BUCKET.fullmatch(value) or ".." in value or _IP.fullmatch(value):
        raise SqslabError(
            f"bucket name {value!r} is not allowed: S3 takes 3-63 lower-case letters, digits, dots and hyphens, "
            "beginning and ending with a letter or digit (or leave --bucket out and sqslab makes one)"
        )
    return value


def function_name(value) -> str:
    return _matching(value, _FUNCTION, "the function", "'function1'",
                     "{shown} is not a function name: use function1, function2 or function3 "
                     "(or a deployed function's full name)", "an empty name")


def template_path(value) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise SqslabError(
            f"the template must be a path, not {type(value).__name__} {value!r:.40}: "
            f"for example 'infra/template.yaml', or {TEMPLATE_WORDS}"
        )
    path = Path(os.path.expanduser(os.fspath(value)))
    if not str(value):
        raise SqslabError(f"the template path is empty: give a file, or {TEMPLATE_WORDS}")
    if path.is_dir():
        raise SqslabError(f"template {path} is a directory: give the template file in it (e.g. {path}/template.yaml)")
    if not path.is_file():
        bare = os.sep not in str(value) and "/" not in str(value) and not path.suffix
        raise SqslabError(f"template not found: {path}" + (f" (give a file, or {TEMPLATE_WORDS})" if bare else ""))
    return path


def parameters(value) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SqslabError(
            f"parameters must be a mapping of name to value, not {type(value).__name__}: "
            "for example {'VisibilityTimeout': 30}"
        )
    out = {}
    for key, val in value.items():
        if not isinstance(key, str) or not key:
            raise SqslabError(f"parameter name {key!r} is not a name: for example 'VisibilityTimeout'")
        if not isinstance(val, (str, int, float)) or isinstance(val, bool):
            raise SqslabError(f"parameter {key} must be text or a number, not {type(val).__name__} {val!r:.40}")
        out[key] = val
    return out


def number_text(name: str, raw: object, whole: bool) -> str:
    """A CloudFormation Number parameter's value as text: a finite decimal number
    (and a whole one where ``whole``)."""
    value = str(raw).strip()
    if not re.fullmatch(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", value):
        raise SqslabError(f"{name} must be a number, not {value!r}")
    number = float(value)
    if whole:
        if not number.is_integer():
            raise SqslabError(f"{name} must be a whole number, not {value!r}")
        return str(int(number))
    return value


def payload(value) -> bytes:
    """A Lambda event as the JSON bytes Invoke sends."""
    try:
        data = json.dumps({} if value is None else value, allow_nan=False).encode()
    except RecursionError:
        raise SqslabError("the payload is nested too deeply to encode: flatten it") from None
    except (TypeError, ValueError) as exc:
        raise SqslabError(f"the payload is not JSON-serialisable ({exc}): pass dicts, lists, text and numbers") from None
    if len(data) > MAX_PAYLOAD_BYTES:
        raise SqslabError(
            f"the payload is {len(data) / 1e6:.1f} MB: a synchronous Lambda invoke takes at most 6 MB (Lambda quotas)"
        )
    return data


def payload_text(text: str) -> object:
    """``--payload`` as given on the command line: JSON text."""
    try:
        return json.loads(text)
    except RecursionError:
        raise SqslabError("--payload is nested too deeply to read: flatten it") from None
    except ValueError as exc:
        raise SqslabError(f"--payload is not JSON ({getattr(exc, 'msg', exc)}): for example --payload '{{\"k\": 1}}'") from None


def seconds(name: str, value, low: int, high: int, source: str) -> int:
    """A whole number of seconds in [low, high] (``source`` names AWS's limit)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SqslabError(f"{name} must be a whole number of seconds, not {type(value).__name__} {value!r:.40}")
    try:
        number = float(value)
    except ValueError:
        raise SqslabError(f"{name} must be a whole number of seconds, not {value!r}") from None
    if not math.isfinite(number) or not number.is_integer():
        raise SqslabError(f"{name} must be a whole number of seconds, not {value!r}")
    if not low <= number <= high:
        raise SqslabError(f"{name} {value} is out of range: {source} allows {low} to {high} seconds")
    return int(number)


def choice(name: str, value, allowed) -> str:
    allowed = list(allowed)
    if value not in allowed:
        raise SqslabError(f"{name} {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def output_dir(name: str, value) -> Path:
    """A folder the command may write into (made if missing): one line if it is a file, or cannot be
    made or written."""
    path = Path(_text(os.fspath(value) if isinstance(value, os.PathLike) else value, name, "build/handouts"))
    if path.exists() and not path.is_dir():
        raise SqslabError(f"{name} {path} is a file, not a folder: give a folder for the output (it is made if "
                          "missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".sqslab-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise SqslabError(f"{name} {path}: cannot write there ({err.strerror or err}): give a folder you can "
                          "write") from None
    return path


def output_file(name: str, value, replaceable=None) -> Path:
    """A file the command may write (its folder made if missing): one line if it is a folder, if its
    folder cannot be made or written, or if it exists and is not one ``replaceable(path)`` accepts
    (an earlier output of the same command): nothing else is ever overwritten."""
    path = Path(_text(os.fspath(value) if isinstance(value, os.PathLike) else value, name, "data/recorded/run.json"))
    if path.is_dir():
        raise SqslabError(f"{name} {path} is a folder: give a file name")
    if (path.exists() or path.is_symlink()) and not (replaceable is not None and not path.is_symlink()
                                                     and path.is_file() and replaceable(path)):
        raise SqslabError(f"{name} {path} exists and is not a file this command wrote: give a new file name, "
                          "or move that file away first")
    output_dir(name, path.parent)
    return path
