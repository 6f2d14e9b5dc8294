"""The guards every moto patch runs before it touches moto, and the error they raise.

A patch takes the original it wraps through :func:`_original` (or
:func:`_require`), which checks that the attribute still exists and, where
given, that its parameters are still the ones the wrapper passes on; any
mismatch is a :class:`PatchError` naming the patch, the installed moto and the
supported range. :func:`_mark` records on a wrapper which patches it carries, so
applying a patch twice is a no-op.
"""

from __future__ import annotations

import inspect

SUPPORTED = "moto==5.2.5"


class PatchError(RuntimeError):
    pass


def _mismatch(patch: str, what: str) -> PatchError:
    import moto

    return PatchError(f"patch {patch}: moto {moto.__version__} {what}; its internals changed. "
                      f"Install {SUPPORTED} (pip install '{SUPPORTED}')")


def _require(obj, attr: str, patch: str):
    try:
        return getattr(obj, attr)
    except AttributeError:
        raise _mismatch(patch, f"has no {getattr(obj, '__name__', obj)}.{attr}") from None


def _require_params(func, expected: tuple[str, ...], patch: str) -> None:
    params = tuple(inspect.signature(func).parameters)
    if params[: len(expected)] != expected:
        raise _mismatch(patch, f"changed {func.__qualname__}{params}, expected {expected}")


def _original(obj, attr: str, patch: str, params: tuple[str, ...] | None = None):
    """The checked original ``obj.attr``, or None when this patch is already in place."""
    original = _require(obj, attr, patch)
    if patch in getattr(original, "_sqslab_patches", ()):
        return None
    if params:
        _require_params(original, params, patch)
    return original


def _mark(wrapper, patch: str, original=None):
    """Record on ``wrapper`` that ``patch`` (and whatever ``original`` carried) is in place."""
    wrapper._sqslab_patches = frozenset(getattr(original, "_sqslab_patches", ())) | {patch}
    return wrapper
