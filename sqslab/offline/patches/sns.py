"""The SNS patches: a topic delivers to an SQS queue only where the queue's policy lets it,
subscription filter policies as SNS documents them, and what a delivery hands the queue."""

from __future__ import annotations

import functools
import inspect
import json

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of, require_attr

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


def _queue_of(queue_arn: str):
    """The moto queue a subscription's endpoint ARN names, or None (gone, or no queue ARN)."""
    from moto.sqs import sqs_backends

    parts = queue_arn.split(":")
    if len(parts) < 6:
        return None
    try:
        return sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
    except Exception:
        return None


def _queue_allows(subscription) -> bool:
    from sqslab.offline.iam import resource_policy

    queue = _queue_of(subscription.endpoint)
    if queue is None:
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


# ---------------------------------------------------------------------------
# sns_filter_policies_as_documented
# Upstream gap: moto's FilterPolicyMatcher departs from the SNS Developer Guide's filter rules:
# "$or" on the message body raises (Publish answers 500, and the SDK's retry delivers the message
# again to every other subscription), equals-ignore-case never matches a policy value with
# capitals, "exists": false matches a message with no attributes, a string attribute holding JSON
# matches keys inside it, the matcher keeps the FilterPolicyScope of when the policy was set, and
# cidr and wildcard are refused at Subscribe. Here moto's matcher always answers yes, and the
# subscription's FilterPolicy and FilterPolicyScope at publish time decide, by
# sqslab.offline.sns.filter_policy; cidr and wildcard rules are checked here, and moto checks the
# rest of the policy as before (its keys, nesting and complexity).
def apply_sns_filter_policies_as_documented() -> str:
    from moto.sns.exceptions import SNSInvalidParameter
    from moto.sns.models import SNSBackend, Subscription
    from moto.sns.utils import FilterPolicyMatcher

    from sqslab.offline.sns import filter_policy

    patch = "sns_filter_policies_as_documented"
    publish = original_of(Subscription, "publish", patch, ("self", "message", "message_id"))
    if publish is None:
        return "already applied"
    moto_matches = original_of(FilterPolicyMatcher, "matches", patch, ("self", "message_attributes", "message"))
    validate = original_of(SNSBackend, "_validate_filter_policy", patch, ("self", "value", "scope"))

    @functools.wraps(publish)
    def publish_filtered(self, message, message_id, *args, **kwargs):
        attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
        policy = self.attributes.get("FilterPolicy")
        if policy:
            parsed = _json_object(policy)
            if not filter_policy.matches(parsed, self.attributes.get("FilterPolicyScope"), message, attributes):
                return None
        return publish(self, message, message_id, *args, **kwargs)

    def matches_always(self, message_attributes, message):  # the subscription's publish decides
        return True

    @functools.wraps(validate)
    def validate_with_documented_operators(self, value, scope):
        return validate(self, _for_moto_validation(value, SNSInvalidParameter), scope)

    Subscription.publish = mark_applied(publish_filtered, patch, publish)
    FilterPolicyMatcher.matches = mark_applied(functools.wraps(moto_matches)(matches_always), patch, moto_matches)
    SNSBackend._validate_filter_policy = mark_applied(validate_with_documented_operators, patch, validate)
    return ("subscription filter policies follow SNS's rules ($or, equals-ignore-case, exists, cidr, wildcard), "
            "with the FilterPolicyScope of the moment")


def _for_moto_validation(policy, invalid):
    """A copy of ``policy`` for moto's checks: the cidr and wildcard rules moto does not know are
    checked here and stand in as a prefix rule (one value each, so the complexity is unchanged)."""
    import ipaddress

    def rule(item):
        if not isinstance(item, dict) or len(item) != 1:
            return item
        (op, arg), = item.items()
        if op == "cidr":
            try:
                ipaddress.ip_network(arg, strict=False)
            except (TypeError, ValueError):
                raise invalid(f"Invalid parameter: FilterPolicy: cidr needs an IP address block such as "
                              f"10.0.0.0/24, not {arg!r}") from None
            return {"prefix": "cidr"}
        if op == "wildcard":
            if not isinstance(arg, str) or arg.count("*") > 3:
                raise invalid("Invalid parameter: FilterPolicy: wildcard needs a string with at most 3 '*'")
            return {"prefix": "wildcard"}
        if op == "anything-but" and isinstance(arg, dict):
            return {"anything-but": rule(arg)}
        return item

    def walk(node):
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(v) if isinstance(v, dict) and not _is_rule(v) else rule(v) for v in node]
        return node

    return walk(policy)


def _is_rule(item: dict) -> bool:
    from sqslab.offline.sns.filter_policy import KEYWORDS

    return len(item) == 1 and next(iter(item)) in KEYWORDS


# ---------------------------------------------------------------------------
# sns_sqs_delivery_as_documented
# Upstream gaps in what moto's SNS hands a subscribed queue (SNS Developer Guide, "Amazon SNS
# message attributes", "Amazon SNS raw message delivery", "Parsing message formats"):
# - raw delivery passes a Binary attribute's base64 text where SQS needs bytes, and every later
#   ReceiveMessage on that queue answers 500 ("Strings must be encoded before hashing");
# - "Messages with more than 10 message attributes directed towards Raw Message Delivery enabled
#   Amazon SQS subscriptions will be discarded as client side errors": moto delivers them;
# - "Message attributes are sent only when the message structure is String, not JSON": moto
#   sends them with MessageStructure json too;
# - a delivery that raises fails the Publish (500), and the SDK's retry publishes again to every
#   subscription; SNS delivers after Publish has answered, so one delivery's failure is the
#   server log's line, never the publisher's error;
# - the envelope's UnsubscribeURL names a made-up subscription in us-east-1, not the subscription;
# - each subscription makes an RSA key of its own to sign its envelopes (30 to 100 ms): one key
#   per server signs them all, as SNS signs with one certificate per Region.
def apply_sns_sqs_delivery_as_documented() -> str:
    import base64

    from moto.sns.models import Subscription

    patch = "sns_sqs_delivery_as_documented"
    publish = original_of(Subscription, "publish", patch, ("self", "message", "message_id", "subject",
                                                           "message_attributes"))
    if publish is None:
        return "already applied"
    post_data = original_of(Subscription, "get_post_data", patch, ("self", "message", "message_id", "subject"))
    key = require_attr(Subscription, "private_key", patch)
    signature = inspect.signature(publish)
    if "message_structure" not in signature.parameters:
        raise mismatch_error(patch, "Subscription.publish no longer takes message_structure")

    @functools.wraps(publish)
    def publish_delivered(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        attributes = bound.arguments.get("message_attributes") or None
        if bound.arguments.get("message_structure") == "json":
            attributes = None
        if attributes and self.protocol == "sqs" and str(self.attributes.get("RawMessageDelivery")).lower() == "true":
            if len(attributes) > RAW_ATTRIBUTE_LIMIT:
                _say_once(self, f"sqslab-offline: {self.topic.arn} -> {self.endpoint}: a message with "
                          f"{len(attributes)} attributes discarded: raw delivery to a queue takes "
                          f"{RAW_ATTRIBUTE_LIMIT} at most")
                return None
            attributes = {name: _raw_binary(value, base64) for name, value in attributes.items()}
        bound.arguments["message_attributes"] = attributes
        if self.protocol == "sqs" and not _fifo_queue(self.endpoint):
            # a FIFO topic may feed a standard queue, which takes no group or deduplication id
            # ("Message ordering and deduplication (FIFO topics)": delivery to standard queues is best-effort)
            bound.arguments["group_id"] = bound.arguments["deduplication_id"] = None
        try:
            return publish(*bound.args, **bound.kwargs)
        except Exception as exc:  # SNS has answered the publisher: a failed delivery is the log's
            _say_once(self, f"sqslab-offline: {self.topic.arn} -> {self.endpoint}: delivery failed: {exc!r}")
            return None

    @functools.wraps(post_data)
    def post_data_of_subscription(self, message, message_id, subject, *args, **kwargs):
        data = post_data(self, message, message_id, subject, *args, **kwargs)
        region = self.topic.arn.split(":")[3]
        data["UnsubscribeURL"] = f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={self.arn}"
        return data

    def server_key(self):
        return _server_key()

    Subscription.publish = mark_applied(publish_delivered, patch, publish)
    Subscription.get_post_data = mark_applied(post_data_of_subscription, patch, post_data)
    Subscription.private_key = mark_applied(functools.wraps(key)(server_key), patch, key)
    return ("raw deliveries carry Binary attributes as bytes and 10 attributes at most, JSON-structured messages "
            "no attributes; a failed delivery no longer fails the Publish")


RAW_ATTRIBUTE_LIMIT = 10
_SAID: set[tuple[str, str]] = set()


def _say_once(subscription, line: str) -> None:
    key = (subscription.arn, line.split(": ", 2)[-1][:40])
    if key not in _SAID:
        _SAID.add(key)
        print(line, flush=True)


def _fifo_queue(queue_arn: str) -> bool:
    queue = _queue_of(queue_arn)
    return bool(queue.fifo_queue) if queue is not None else queue_arn.endswith(".fifo")


def _raw_binary(value: dict, base64) -> dict:
    if str(value.get("Type", "")).startswith("Binary") and isinstance(value.get("Value"), str):
        return {**value, "Value": base64.b64decode(value["Value"])}
    return value


@functools.lru_cache(maxsize=1)
def _server_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# ---------------------------------------------------------------------------
# sns_requests_checked
# Upstream gaps: moto's Subscribe takes any protocol string and Publish an empty message (SNS:
# InvalidParameter, "Amazon SNS does not support this protocol string", "Empty message");
# SetTopicAttributes takes any attribute name and a Policy that is not JSON (a 500), Unsubscribe any
# text as an ARN (SNS: InvalidParameter, "An ARN must have at least 6 elements"); and it
# makes the subscription first and sets its attributes after, so an
# attribute it cannot take (a FilterPolicy that is not JSON, a FilterPolicyScope it does not know)
# answers 500 and leaves the subscription made; RawMessageDelivery takes any word. SNS checks
# the attributes and answers InvalidParameter (Subscribe and SetSubscriptionAttributes, Errors),
# making nothing. Here each value is checked before moto sees it, and a Subscribe that fails takes
# back the subscription it made (one that existed before is left as it was).
SCOPES = ("MessageAttributes", "MessageBody")
# SetTopicAttributes, AttributeName: the names SNS documents, delivery status logging's included
TOPIC_ATTRIBUTES = frozenset({
    "DeliveryPolicy", "DisplayName", "Policy", "TracingConfig", "KmsMasterKeyId", "SignatureVersion",
    "ContentBasedDeduplication", "ArchivePolicy", "FifoThroughputScope",
    *(f"{kind}{what}" for kind in ("HTTP", "Application", "Firehose", "Lambda", "SQS")
      for what in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")),
})
# Subscribe, Protocol: the protocols SNS documents
PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")


def apply_sns_requests_checked() -> str:
    from moto.sns.exceptions import SNSInvalidParameter
    from moto.sns.models import SNSBackend
    from moto.sns.responses import SNSResponse

    patch = "sns_requests_checked"
    set_attribute = original_of(SNSBackend, "set_subscription_attributes", patch, ("self", "arn", "name", "value"))
    if set_attribute is None:
        return "already applied"
    subscribe = original_of(SNSResponse, "subscribe", patch, ("self",))
    require_attr(SNSBackend, "unsubscribe", patch)

    @functools.wraps(set_attribute)
    def set_subscription_attributes(self, arn, name, value):
        problem = _attribute_problem(name, value)
        if problem:
            raise SNSInvalidParameter(problem)
        return set_attribute(self, arn, name, value)

    publish = original_of(SNSResponse, "publish", patch, ("self",))
    set_topic = original_of(SNSResponse, "set_topic_attributes", patch, ("self",))
    unsubscribe = original_of(SNSResponse, "unsubscribe", patch, ("self",))

    @functools.wraps(set_topic)
    def set_topic_attributes(self):
        name, value = self._get_param("AttributeName"), self._get_param("AttributeValue")
        if name not in TOPIC_ATTRIBUTES:
            raise SNSInvalidParameter("Invalid parameter: AttributeName")
        if name in ("Policy", "DeliveryPolicy", "ArchivePolicy") and value and _json_object(value) is None:
            raise SNSInvalidParameter(f"Invalid parameter: {name}: failed to parse JSON: it must be a JSON object")
        return set_topic(self)

    @functools.wraps(unsubscribe)
    def unsubscribe_checked(self):
        arn = str(self._get_param("SubscriptionArn") or "")
        if len(arn.split(":")) < 6:
            raise SNSInvalidParameter(f"Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 "
                                      f"elements, not {len(arn.split(':'))}")
        return unsubscribe(self)

    @functools.wraps(publish)
    def publish_checked(self):
        message = self._get_param("Message")
        if message is None or message == "":  # Publish, Message: required, and SNS refuses it empty
            raise SNSInvalidParameter("Invalid parameter: Empty message")
        return publish(self)

    @functools.wraps(subscribe)
    def subscribe_whole(self):
        protocol = self._get_param("Protocol")
        if protocol not in PROTOCOLS:
            raise SNSInvalidParameter(f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}")
        raw = self._get_param("Attributes", {}) or {}
        for name, value in (raw.items() if isinstance(raw, dict) else ()):
            problem = _attribute_problem(name, value)  # before moto turns "maybe" into false
            if problem:
                raise SNSInvalidParameter(problem)
        before = {s.arn for s in getattr(self.backend, "subscriptions", {}).values()}
        try:
            return subscribe(self)
        except Exception:
            for sub in list(getattr(self.backend, "subscriptions", {}).values()):
                if sub.arn not in before:
                    self.backend.unsubscribe(sub.arn)
            raise

    SNSBackend.set_subscription_attributes = mark_applied(set_subscription_attributes, patch, set_attribute)
    SNSResponse.subscribe = mark_applied(subscribe_whole, patch, subscribe)
    SNSResponse.publish = mark_applied(publish_checked, patch, publish)
    SNSResponse.set_topic_attributes = mark_applied(set_topic_attributes, patch, set_topic)
    SNSResponse.unsubscribe = mark_applied(unsubscribe_checked, patch, unsubscribe)
    return ("subscription protocols and attributes, topic attributes and subscription ARNs checked before anything "
            "is made; a Subscribe that fails makes nothing; an empty message is refused")


def _json_object(value) -> dict | None:
    """``value`` (JSON text, or already parsed) as a JSON object; None when it is not one."""
    try:
        doc = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _attribute_problem(name: str, value) -> str | None:
    """SNS's InvalidParameter message for a subscription attribute value it refuses, or None."""
    if name == "FilterPolicy" and value not in (None, "") and _json_object(value) is None:
        return "Invalid parameter: FilterPolicy: failed to parse JSON: the filter policy must be a JSON object"
    if name == "FilterPolicyScope" and value not in SCOPES:
        return (f"Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [{value}]. "
                "Please use either MessageBody or MessageAttributes")
    if name == "RawMessageDelivery" and str(value).lower() not in ("true", "false"):
        return f"Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [{value}]. Must be true or false."
    return None
