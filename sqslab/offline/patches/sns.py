"""The SNS patch: a topic delivers to an SQS queue only where the queue's policy lets it."""

from __future__ import annotations

import functools
import inspect

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of

REFUSED: dict[str, int] = {}  # subscription ARN -> deliveries the queue's policy refused


# ---------------------------------------------------------------------------
# sns_sqs_delivery_checks_queue_policy
# Upstream gap: moto's SNS writes every message into each subscribed queue, whatever the
# queue's access policy says. SNS needs the queue's policy to allow sqs:SendMessage to
# sns.amazonaws.com (SNS Developer Guide, "Fanout to Amazon SQS queues", "Sending Amazon SNS
# messages to an Amazon SQS queue": "the queue's policy must grant the topic permission to
# send"); otherwise the message never arrives. Here a delivery the queue's policy does not
# allow is dropped and counted (REFUSED; the server log says so once per subscription).
def apply_sns_sqs_delivery_checks_queue_policy() -> str:
    from moto.sns.models import Subscription

    patch = "sns_sqs_delivery_checks_queue_policy"
    publish = original_of(Subscription, "publish", patch, ("self", "message", "message_id"))
    if publish is None:
        return "already applied"
    source = inspect.getsource(publish)
    if 'self.protocol == "sqs"' not in source or "sqs_backends" not in source:
        raise mismatch_error(patch, "Subscription.publish no longer writes to SQS queues itself")

    @functools.wraps(publish)
    def publish_checked(self, message, message_id, *args, **kwargs):
        if self.protocol == "sqs" and not _queue_allows(self):
            return None
        return publish(self, message, message_id, *args, **kwargs)

    Subscription.publish = mark_applied(publish_checked, patch, publish)
    return "a topic delivers to a queue only where the queue's policy allows sqs:SendMessage to sns.amazonaws.com"


def _queue_allows(subscription) -> bool:
    from moto.sqs import sqs_backends

    from sqslab.offline.iam import resource_policy

    parts = subscription.endpoint.split(":")
    if len(parts) < 6:
        return False
    region, account, name = parts[3], parts[4], parts[5]
    try:
        queue = sqs_backends[account][region].get_queue(name)
    except Exception:
        return False
    decision = resource_policy.service_allowed(
        queue.policy, service="sns.amazonaws.com", action="sqs:SendMessage", resource=queue.queue_arn,
        source_arn=subscription.topic.arn, source_account=subscription.topic.account_id)
    if not decision.allowed:
        arn = subscription.arn
        REFUSED[arn] = REFUSED.get(arn, 0) + 1
        if REFUSED[arn] == 1:
            print(f"sqslab-offline: {subscription.topic.arn} -> {queue.queue_arn}: delivery refused: the queue's "
                  "policy does not allow sqs:SendMessage to sns.amazonaws.com for this topic", flush=True)
    return decision.allowed
