"""Resource policies where a service acts (sqslab.offline.iam.resource_policy) and SNS requests in
IAM's terms (sqslab.offline.iam.actions.sns_call), without a server. SNS Developer Guide, "Fanout to
Amazon SQS queues" (the queue policy for sns.amazonaws.com, aws:SourceArn); IAM User Guide, "AWS JSON
policy elements: Principal" and the global condition keys aws:SourceArn and aws:SourceAccount; Service
Authorization Reference, Amazon SNS (actions on the topic)."""


from __future__ import annotations

import json

from sqslab.offline.iam import actions, resource_policy

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders-raw"


def allowed(statement):
    return resource_policy.service_allowed(json.dumps({"Statement": [statement]}), service="sns.amazonaws.com",
                                           action="sqs:SendMessage", resource=QUEUE, source_arn=TOPIC,
                                           source_account="123456789012").allowed


def test_the_service_principal_the_source_arn_and_the_source_account():
    base = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": QUEUE}
    assert allowed(base)
    assert allowed({**base, "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}})
    assert not allowed({**base, "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC + "-other"}}})
    assert allowed({**base, "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})
    assert allowed({**base, "Principal": "*", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:ord*"}}})
    assert not allowed({**base, "Principal": {"Service": "events.amazonaws.com"}})
    assert not allowed({**base, "Action": "sqs:ReceiveMessage"})
    assert not allowed({**base, "Effect": "Deny"})
    assert not resource_policy.service_allowed(None, service="sns.amazonaws.com", action="sqs:SendMessage",
                                               resource=QUEUE, source_arn=TOPIC, source_account="1").allowed
    assert resource_policy.principal_matches({"AWS": "arn:aws:iam::123456789012:root"}, account="123456789012")


def test_sns_requests_in_iam_terms():
    def pairs(operation, **params):
        return actions.sns_call(operation, params, "us-east-1", "123456789012").pairs

    assert pairs("Publish", TopicArn=TOPIC) == (("sns:Publish", TOPIC),)
    assert pairs("CreateTopic", Name="orders") == (("sns:CreateTopic", TOPIC),)
    assert pairs("Unsubscribe", SubscriptionArn=TOPIC + ":4f1c-uuid") == (("sns:Unsubscribe", TOPIC),)
    assert pairs("ListTopics") == (("sns:ListTopics", "*"),)
    assert actions.sns_call("Publish", {}, "us-east-1", "1").mapped is False  # not understood: a role is denied
