"""Each function runs as its role: IAM policy evaluation inside the offline server.

Requests signed with an execution environment's temporary credentials
(:mod:`sqslab.offline.auth`) are evaluated against the function's execution
role, as the IAM User Guide describes it ("Policy evaluation logic",
"Determining whether a request is allowed or denied within an account"):

- the role's identity-based policies are its inline policies and the managed
  policies attached to it (AWS managed ones, such as
  ``AWSLambdaBasicExecutionRole``, as moto loads them), each at its default version;
- a statement applies when its ``Action`` (or ``NotAction``) and its
  ``Resource`` (or ``NotResource``) match the request and its ``Condition``,
  if any, holds;
- an explicit ``Deny`` in any applicable statement wins; otherwise an
  applicable ``Allow`` allows; otherwise the request is implicitly denied.

Matching follows "IAM JSON policy elements: Action" and "... Resource": action
names are compared without regard to case, with ``*`` and ``?`` wildcards
(``sqs:*``, ``sqs:Receive*``); resource ARNs are compared with case, ``*``
matching any run of characters (colons included) and ``?`` one character;
``"*"`` matches every resource.

Conditions ("IAM JSON policy elements: Condition operators"): the operators
String(Not)Equals, String(Not)EqualsIgnoreCase, String(Not)Like, Arn(Not)Equals,
Arn(Not)Like, Bool and Null, each with ``...IfExists``, on the context keys
``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``,
``aws:RequestedRegion``, ``aws:SecureTransport`` (``false``: the server
speaks plain HTTP on loopback), and, for a service acting on a resource
(:mod:`sqslab.offline.iam.resource_policy`), ``aws:SourceArn`` and ``aws:SourceAccount``. A statement with any other operator or key
does not apply: for an Allow that denies what AWS might allow, for a Deny it
allows what AWS might deny. The series' templates use no conditions.

Not evaluated: permissions boundaries, session policies, service control
policies, and resource-based policies on requests made by roles (queue policies,
function policies): in one account with no such policies, the role's own policies
decide, as here. A queue's policy is evaluated where a service principal acts on
the queue (SNS delivering to it: :mod:`sqslab.offline.iam.resource_policy`).

Every request is mapped to its IAM action and resource where moto dispatches it
(:mod:`sqslab.offline.iam.dispatch_check`, with the builders below for services whose
names are plain parameters), following the Service Authorization Reference and the
SQS API permissions reference. Requests that cannot be mapped confidently are denied
to a role (and allowed to the learner, whose identity is the account's administrator).

Decisions are cached per role, per version of its policies (the inline
documents and the managed policies' default version ids), and per action,
resource and region: a repeated request costs a dictionary look-up.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from urllib.parse import unquote

from sqslab.offline.iam.actions import Call

ALLOW = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"  # the words AWS's policy simulator uses

_SUPPORTED_KEYS = {"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:requestedregion",
                   "aws:securetransport", "aws:sourcearn", "aws:sourceaccount"}


# ---------------------------------------------------------------- matching


def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts) + r"\Z", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


class _Matcher:
    """A list of patterns (``*`` and ``?`` wildcards), matched as IAM matches them."""

    __slots__ = ("exact", "globs", "everything", "ignore_case")

    def __init__(self, patterns, ignore_case: bool):
        if isinstance(patterns, str):
            patterns = [patterns]
        self.ignore_case = ignore_case
        self.exact: set[str] = set()
        self.globs: list[re.Pattern] = []
        self.everything = False
        for p in patterns or ():
            if not isinstance(p, str):
                continue
            if p == "*":
                self.everything = True
            elif "*" in p or "?" in p:
                self.globs.append(_glob(p, ignore_case))
            else:
                self.exact.add(p.lower() if ignore_case else p)

    def __call__(self, value: str) -> bool:
        if self.everything:
            return True
        if (value.lower() if self.ignore_case else value) in self.exact:
            return True
        return any(g.match(value) for g in self.globs)


# ---------------------------------------------------------------- conditions


def _as_list(value) -> list[str]:
    if isinstance(value, list):
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
    return [str(value).lower() if isinstance(value, bool) else str(value)]


def _condition_holds(block, context: dict[str, str]) -> bool:
    """Whether a statement's Condition block holds; False for what is not supported."""
    if not isinstance(block, dict):
        return False
    for operator, tests in block.items():
        if not isinstance(tests, dict) or not isinstance(operator, str):
            return False
        op = operator
        if_exists = op.endswith("IfExists")
        if if_exists:
            op = op[: -len("IfExists")]
        for key, wanted in tests.items():
            k = str(key).lower()
            if k not in _SUPPORTED_KEYS:
                return False  # an unsupported key: the statement does not apply (documented)
            values = _as_list(wanted)
            actual = context.get(k)
            if op == "Null":
                is_null = actual is None
                if not any((v.lower() == "true") == is_null for v in values):
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            if op in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif op in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in values
            elif op == "StringEqualsIgnoreCase":
                ok = actual.lower() in {v.lower() for v in values}
            elif op == "StringNotEqualsIgnoreCase":
                ok = actual.lower() not in {v.lower() for v in values}
            elif op in ("StringLike", "ArnLike"):
                ok = any(_glob(v, False).match(actual) for v in values)
            elif op in ("StringNotLike", "ArnNotLike"):
                ok = not any(_glob(v, False).match(actual) for v in values)
            elif op == "Bool":
                ok = actual.lower() in {v.lower() for v in values}
            else:
                return False  # an operator not supported here: the statement does not apply
            if not ok:
                return False
    return True


# ---------------------------------------------------------------- statements and policies


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" or "Deny"
    action: _Matcher | None
    not_action: _Matcher | None
    resource: _Matcher | None
    not_resource: _Matcher | None
    condition: object = None
    source: str = ""  # the policy it came from (a name or an ARN)

    def applies(self, action: str, resource: str, context: dict[str, str]) -> bool:
        if self.action is not None:
            if not self.action(action):
                return False
        elif self.not_action is None or self.not_action(action):
            return False
        if self.resource is not None:
            if not self.resource(resource):
                return False
        elif self.not_resource is None or self.not_resource(resource):
            return False
        if self.condition is not None and not _condition_holds(self.condition, context):
            return False
        return True


def parse_policy(document, source: str = "") -> list[Statement]:
    """The statements of a policy document (JSON text, URL-encoded JSON text or a dict).
    A statement that is not well formed is left out: it grants nothing."""
    if isinstance(document, (bytes, bytearray)):
        document = document.decode("utf-8", "replace")
    if isinstance(document, str):
        text = document.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = unquote(text)
        try:
            document = json.loads(text)
        except ValueError:
            return []
    if not isinstance(document, dict):
        return []
    raw = document.get("Statement", [])
    if isinstance(raw, dict):
        raw = [raw]
    out: list[Statement] = []
    for st in raw if isinstance(raw, list) else ():
        if not isinstance(st, dict) or st.get("Effect") not in ("Allow", "Deny"):
            continue
        has_action, has_not_action = "Action" in st, "NotAction" in st
        has_resource, has_not_resource = "Resource" in st, "NotResource" in st
        if has_action == has_not_action or has_resource == has_not_resource:
            continue  # exactly one of each is required
        out.append(Statement(
            effect=st["Effect"],
            action=_Matcher(st["Action"], True) if has_action else None,
            not_action=_Matcher(st["NotAction"], True) if has_not_action else None,
            resource=_Matcher(st["Resource"], False) if has_resource else None,
            not_resource=_Matcher(st["NotResource"], False) if has_not_resource else None,
            condition=st.get("Condition"),
            source=source,
        ))
    return out


@dataclass(frozen=True)
class Decision:
    decision: str  # ALLOW, EXPLICIT_DENY or IMPLICIT_DENY
    action: str
    resource: str
    statement: Statement | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOW


def evaluate(statements: list[Statement], action: str, resource: str, context: dict[str, str] | None = None
             ) -> Decision:
    """The documented evaluation order within one account's identity-based policies:
    an applicable Deny wins, else an applicable Allow allows, else the request is denied."""
    context = context or {}
    allowed_by = None
    for st in statements:
        if st.applies(action, resource, context):
            if st.effect == "Deny":
                return Decision(EXPLICIT_DENY, action, resource, st)
            if allowed_by is None:
                allowed_by = st
    if allowed_by is not None:
        return Decision(ALLOW, action, resource, allowed_by)
    return Decision(IMPLICIT_DENY, action, resource)


# ---------------------------------------------------------------- a role's policies, from moto


class RolePolicies:
    """One role at one version of its policies: compiled statements and a decision cache."""

    MAX_DECISIONS = 4096

    def __init__(self, role_arn: str, statements: list[Statement]):
        self.role_arn = role_arn
        self.statements = statements
        self.context_base = {
            "aws:principalarn": role_arn,
            "aws:principalaccount": role_arn.split(":")[4] if role_arn.count(":") >= 5 else "",
            "aws:principaltype": "AssumedRole",
            "aws:securetransport": "false",
        }
        self._decisions: dict[tuple[str, str, str], Decision] = {}

    def decide(self, action: str, resource: str, region: str = "") -> Decision:
        key = (action, resource, region)
        found = self._decisions.get(key)
        if found is None:
            context = dict(self.context_base)
            if region:
                context["aws:requestedregion"] = region
            found = evaluate(self.statements, action, resource, context)
            if len(self._decisions) >= self.MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = found
        return found


_NO_ROLE = RolePolicies("", [])
_CACHE: dict[tuple, RolePolicies] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 256


def _iam_backend(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


_ROLES: dict[str, object] = {}  # role ARN -> moto's Role, checked against the backend on each use


def _find_role(role_arn: str):
    try:
        account = role_arn.split(":")[4]
        backend = _iam_backend(account)
    except Exception:
        return None
    role = _ROLES.get(role_arn)
    if role is not None and backend.roles.get(role.id) is role and role.arn == role_arn:
        return role
    for role in list(backend.roles.values()):
        if role.arn == role_arn:
            if len(_ROLES) >= _CACHE_MAX:
                _ROLES.clear()
            _ROLES[role_arn] = role
            return role
    return None


def role_id(role_arn: str) -> str | None:
    """The role's unique id (``AROA...``), as IAM's GetRole gives it; None for a role that does not exist."""
    role = _find_role(role_arn) if role_arn else None
    return getattr(role, "id", None) if role is not None else None


def _managed_document(policy) -> str:
    for version in policy.versions:
        if version.version_id == policy.default_version_id:
            return version.document
    return ""


def role_policies(role_arn: str) -> RolePolicies:
    """The role's policies as they are now (cached per version); no statements for a role that does not exist."""
    role = _find_role(role_arn) if role_arn else None
    if role is None:
        return _NO_ROLE
    inline = tuple(sorted((name, doc if isinstance(doc, str) else json.dumps(doc))
                          for name, doc in list(role.policies.items())))
    managed = tuple(sorted((arn, p.default_version_id, id(p)) for arn, p in list(role.managed_policies.items())))
    key = (role_arn, id(role), inline, managed)
    found = _CACHE.get(key)
    if found is not None:
        return found
    statements: list[Statement] = []
    for name, doc in inline:
        statements += parse_policy(doc, name)
    for arn, p in list(role.managed_policies.items()):
        statements += parse_policy(_managed_document(p), arn)
    found = RolePolicies(role_arn, statements)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def role_allows(role_arn: str, action: str, resource: str, region: str = "") -> Decision:
    """What the role's policies decide for one action on one resource (the poller's check)."""
    return role_policies(role_arn).decide(action, resource, region)


def function_role(function_arn: str) -> str:
    """The execution role ARN of a function, from moto's Lambda backend ("" if it has none)."""
    try:
        from moto.awslambda.models import lambda_backends

        parts = function_arn.split(":")
        account, region = parts[4], parts[3]
        fn = lambda_backends[account][region].get_function(function_arn)
        return str(getattr(fn, "role", "") or "")
    except Exception:
        return ""


# ---------------------------------------------------------------- who, in AWS's words


def session_arn(role_arn: str, session_name: str) -> str:
    """``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``: how AWS names a role's session
    (for a function, the session is the function's name)."""
    parts = role_arn.split(":", 5)
    if len(parts) < 6:
        return role_arn
    role_name = parts[5].split("/")[-1]
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role_name}/{session_name}"


def denial_message(caller_arn: str, decision: Decision) -> str:
    """AWS's message for a denied request ("Troubleshoot access denied error messages"). SQS writes
    the action in lower case ("... is not authorized to perform: sqs:receivemessage on resource: ...",
    as its AccessDenied messages read); other services as IAM names it."""
    action = decision.action.lower() if decision.action.startswith("sqs:") else decision.action
    head = f"User: {caller_arn} is not authorized to perform: {action} on resource: {decision.resource}"
    if decision.decision == EXPLICIT_DENY:
        return head + " with an explicit deny in an identity-based policy"
    return head + f" because no identity-based policy allows the {action} action"


def authorize(role_arn: str, call: Call, region: str = "") -> Decision | None:
    """None if the role may make the call; else the Decision that denies it (the first pair denied).
    A call that is not understood is denied (implicitly) to a role."""
    policies = role_policies(role_arn)
    for action, resource in call.pairs:
        if not call.mapped:
            return Decision(IMPLICIT_DENY, action, resource)
        decision = policies.decide(action, resource, region)
        if not decision.allowed:
            return decision
    return None
