"""Resource-based policies where a service acts on a resource: a queue's access policy decides
whether an SNS topic may deliver to it (SNS Developer Guide, "Fanout to Amazon SQS queues":
the queue's policy must allow ``sqs:SendMessage`` to the principal ``sns.amazonaws.com``, usually
with the condition ``aws:SourceArn`` naming the topic).

A statement applies when its ``Principal`` names the caller (``"*"``, ``{"AWS": "*"}``, ``{"Service":
...}`` with the service's principal, or ``{"AWS": ...}`` with the caller's account id or
``arn:aws:iam::ACCOUNT:root``) and its action, resource and condition match
(:func:`sqslab.offline.iam.policy.evaluate`, with ``aws:SourceArn`` and ``aws:SourceAccount`` in
the context). A queue with no policy lets no service in: the delivery is refused, as on AWS.
``NotPrincipal`` statements are left out (they grant nothing here).
"""

from __future__ import annotations

import json

from sqslab.offline.iam import policy


def _names(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def principal_matches(principal, *, service: str | None = None, account: str | None = None) -> bool:
    """Whether a statement's ``Principal`` names a service principal or an account."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if service and service in _names(principal.get("Service", [])):
        return True
    for name in _names(principal.get("AWS", [])):
        if name == "*" or (account and name in (account, f"arn:aws:iam::{account}:root")):
            return True
    return False


def service_allowed(document, *, service: str, action: str, resource: str, source_arn: str,
                    source_account: str) -> policy.Decision:
    """The decision of a resource's policy ``document`` (JSON text or dict; None: no policy) on
    ``service`` doing ``action`` on ``resource`` for the resource ``source_arn`` of ``source_account``."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            document = None
    raw = (document or {}).get("Statement", []) if isinstance(document, dict) else []
    raw = [raw] if isinstance(raw, dict) else raw
    applying = [st for st in raw if isinstance(st, dict) and "Principal" in st
                and principal_matches(st["Principal"], service=service)]
    statements = policy.parse_policy({"Statement": applying}, source="resource policy")
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_account}
    return policy.evaluate(statements, action, resource, context)
