"""Short-lived queues (and functions) that experiments and exercise checks make beside a stack.

Their names start with the stack's scratch prefix, ``sqslab-scratch-<stack>_``:
the underscore, which stack names cannot hold, ends the stack's part, so stack
``a`` never claims stack ``a-b``'s queues. A cell deletes its queue when it ends;
one that failed half-way leaves it, and the stack's teardown (and
:func:`sqslab.lab.resources.leftovers`) find it by that prefix. Nothing else is ever
matched: names in a stack's template do not start with ``sqslab-scratch-``. The same
holds for short-lived functions (:mod:`sqslab.lab.roles`) and their log groups.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from sqslab.base.errors import SqslabError

PREFIX = "sqslab-scratch-"
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9-]{0,23}")
_STACK_PART = 32  # SQS queue names have at most 80 characters


def prefix(stack_name: str) -> str:
    """Where every scratch queue name of this stack starts (at most 48 characters)."""
    part = stack_name
    if len(part) > _STACK_PART:  # shortened, and kept apart from other long names by a hash
        part = f"{stack_name[:_STACK_PART - 9]}-{hashlib.sha256(stack_name.encode()).hexdigest()[:8]}"
    return f"{PREFIX}{part}_"


def queue_name(stack_name: str, purpose: str) -> str:
    """A new scratch queue name: the stack's prefix, what it is for, six random hex digits."""
    if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
        raise SqslabError(f"scratch queue purpose {purpose!r}: use 1-24 lower-case letters, digits and hyphens")
    return f"{prefix(stack_name)}{purpose}-{uuid.uuid4().hex[:6]}"


def queues(sqs, stack_name: str) -> list[str]:
    """The URLs of this stack's scratch queues that exist now."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix(stack_name)):
        urls += page.get("QueueUrls", [])
    return urls


def functions(lam, stack_name: str) -> list[str]:
    """The names of this stack's scratch functions that exist now."""
    start = prefix(stack_name)
    return [f["FunctionName"] for page in lam.get_paginator("list_functions").paginate()
            for f in page["Functions"] if f["FunctionName"].startswith(start)]


def _delete_each(items: list, delete, missing) -> int:
    """``delete(item)`` for each item, one already gone (``missing``) being fine; returns how many."""
    for item in items:
        try:
            delete(item)
        except missing:
            pass
    return len(items)


def delete_queues(sqs, stack_name: str) -> int:
    """Delete this stack's scratch queues; returns how many there were."""
    return _delete_each(queues(sqs, stack_name), lambda url: sqs.delete_queue(QueueUrl=url),
                        sqs.exceptions.QueueDoesNotExist)


def mappings(lam, stack_name: str) -> list[str]:
    """The UUIDs of event source mappings that read one of this stack's scratch queues."""
    start = prefix(stack_name)
    return [m["UUID"] for page in lam.get_paginator("list_event_source_mappings").paginate()
            for m in page["EventSourceMappings"]
            if m.get("EventSourceArn", "").rsplit(":", 1)[-1].startswith(start)]


def delete_mappings(lam, stack_name: str) -> int:
    """Delete the mappings that read this stack's scratch queues; returns how many. On AWS neither
    deleting the queue nor deleting the function removes a mapping (DeleteFunction: "delete the
    event source mapping" yourself with DeleteEventSourceMapping)."""
    return _delete_each(mappings(lam, stack_name), lambda uuid_: lam.delete_event_source_mapping(UUID=uuid_),
                        lam.exceptions.ResourceNotFoundException)


def delete_functions(lam, logs, stack_name: str) -> int:
    """Delete this stack's scratch functions and the log groups Lambda made for them; returns how many."""
    names = functions(lam, stack_name)
    _delete_each(names, lambda name: lam.delete_function(FunctionName=name), lam.exceptions.ResourceNotFoundException)
    _delete_each([f"/aws/lambda/{name}" for name in names], lambda group: logs.delete_log_group(logGroupName=group),
                 logs.exceptions.ResourceNotFoundException)
    return len(names)
