"""The guards every moto patch runs before it touches moto, and the error they raise.

A patch takes the original it wraps through :func:`original_of` (or
:func:`require_attr`), which checks that the attribute still exists and, where
given, that its parameters are still the ones the wrapper passes on; any
mismatch is a :class:`PatchError` naming the patch, the installed moto and the
supported range. :func:`mark_applied` records on a wrapper which patches it carries, so
applying a patch twice is a no-op.
"""

from __future__ import annotations

import inspect

SUPPORTED = "moto==5.2.5"


class PatchError(RuntimeError):
    pass


def mismatch_error(patch: str, what: str) -> PatchError:
    import moto

    return PatchError(f"patch {patch}: moto {moto.__version__} {what}; its internals changed. "
                      f"Install {SUPPORTED} (pip install '{SUPPORTED}')")


def require_attr(obj, attr: str, patch: str):
    try:
        return getattr(obj, attr)
    except AttributeError:
        raise mismatch_error(patch, f"has no {getattr(obj, '__name__', obj)}.{attr}") from None


def require_params(func, expected: tuple[str, ...], patch: str) -> None:
    params = tuple(inspect.signature(func).parameters)
    if params[: len(expected)] != expected:
        raise mismatch_error(patch, f"changed {func.__qualname__}{params}, expected {expected}")


def original_of(obj, attr: str, patch: str, params: tuple[str, ...] | None = None):
    """The checked original ``obj.attr``, or None when this patch is already in place."""
    original = require_attr(obj, attr, patch)
    if patch in getattr(original, "_sqslab_patches", ()):
        return None
    if params:
        require_params(original, params, patch)
    return original


def mark_applied(wrapper, patch: str, original=None):
    """Record on ``wrapper`` that ``patch`` (and whatever ``original`` carried) is in place."""
    wrapper._sqslab_patches = frozenset(getattr(original, "_sqslab_patches", ())) | {patch}
    return wrapper
