"""What is kept of deleted messages' receipt handles.

moto remembers the receipt handle of every message ever deleted, so that deleting a message
again succeeds, as on SQS; that set only grows. Here each handle is remembered for
DELETED_HANDLE_TTL_S after its message was deleted, and at most DELETED_HANDLES_KEPT per queue
(the oldest go first). The wiring is :mod:`sqslab.offline.patches.sqs`.
"""

from __future__ import annotations

import collections
import time

DELETED_HANDLE_TTL_S = 15 * 60
DELETED_HANDLES_KEPT = 20_000


class ExpiringHandles:
    """A set of receipt handles that forgets each one after a time, and the oldest beyond a count."""

    def __init__(self, ttl_s: float = DELETED_HANDLE_TTL_S, cap: int = DELETED_HANDLES_KEPT, clock=None):
        self._added: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._ttl, self._cap, self._clock = ttl_s, cap, clock or time.monotonic

    def _prune(self) -> None:
        horizon = self._clock() - self._ttl
        while self._added and (len(self._added) > self._cap or next(iter(self._added.values())) < horizon):
            self._added.popitem(last=False)

    def add(self, handle: str) -> None:
        self._added[handle] = self._clock()
        self._added.move_to_end(handle)
        self._prune()

    def update(self, handles) -> None:
        for handle in handles:
            self.add(handle)

    def discard(self, handle: str) -> None:
        self._added.pop(handle, None)

    def __contains__(self, handle) -> bool:
        self._prune()
        return handle in self._added

    def __len__(self) -> int:
        return len(self._added)

    def __iter__(self):
        return iter(list(self._added))
