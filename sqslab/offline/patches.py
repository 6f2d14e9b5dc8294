"""Small, named fixes to moto, applied inside the offline server process only.

Each patch names the upstream gap it covers, checks that the moto internals it
touches still look the way it expects, and raises :class:`PatchError` with a
clear message when they do not, instead of silently misbehaving on a moto
release whose internals changed. The supported moto range is pinned in
``pyproject.toml``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass

SUPPORTED = "moto>=5.2.5,<5.3"


class PatchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Patch:
    name: str
    gap: str
    apply: Callable[[], str]


_applied: dict[str, str] = {}


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


# ---------------------------------------------------------------------------
# cfn_getatt_short_form
# Upstream gap: moto.cloudformation.utils.yaml_tag_constructor splits the scalar
# of the YAML short form `!GetAtt A.Outputs.X` on every dot, giving
# ["A", "Outputs", "X"]; CloudFormation splits on the first dot only, giving
# ["A", "Outputs.X"]. moto registers the constructor by name at parse time from
# cloudformation.models and cloudformation.responses, so both names are wrapped.
def _apply_getatt_short_form() -> str:
    from moto.cloudformation import models, responses

    original = _original(models, "yaml_tag_constructor", "cfn_getatt_short_form", ("loader", "tag", "node"))
    if original is None:
        return "already applied"

    def yaml_tag_constructor(loader, tag, node):
        if tag == "!GetAtt" and isinstance(getattr(node, "value", None), str):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        return original(loader, tag, node)

    _mark(yaml_tag_constructor, "cfn_getatt_short_form", original)
    models.yaml_tag_constructor = yaml_tag_constructor
    responses.yaml_tag_constructor = yaml_tag_constructor
    return "wrapped yaml_tag_constructor in cloudformation.models and .responses"


# ---------------------------------------------------------------------------
# cfn_nested_stack_outputs
# Upstream gap: moto.cloudformation.models.Stack (the AWS::CloudFormation::Stack
# resource of a nested stack) says it has every attribute (has_cfn_attr returns
# True) but defines no get_cfn_attribute, so `Fn::GetAtt Child.Outputs.Name`
# raises AttributeError. CloudFormation resolves it to the child's output value.
def _apply_nested_stack_outputs() -> str:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudformation.models import Stack

    if "get_cfn_attribute" in Stack.__dict__ and not getattr(
        Stack.__dict__["get_cfn_attribute"], "_sqslab_patches", False
    ):
        return "not needed: this moto resolves nested stack outputs itself"
    if "self.output_map" not in inspect.getsource(Stack.__init__):
        raise _mismatch("cfn_nested_stack_outputs", "Stack has no output_map")
    from moto.cloudformation.parsing import OutputMap

    _require(OutputMap, "outputs", "cfn_nested_stack_outputs")

    def get_cfn_attribute(self, attribute_name: str):
        prefix = "Outputs."
        if not attribute_name.startswith(prefix):
            raise UnformattedGetAttTemplateException()
        key = attribute_name[len(prefix):]
        output = self.output_map.get(key) if key in self.output_map.outputs else None
        if output is None:
            raise UnformattedGetAttTemplateException()
        return output.value

    _mark(get_cfn_attribute, "cfn_nested_stack_outputs")
    Stack.get_cfn_attribute = get_cfn_attribute
    return "added Stack.get_cfn_attribute for Outputs.<Name>"


# ---------------------------------------------------------------------------
# lambda_env_strings
# Upstream gap: moto keeps Lambda environment variables as CloudFormation gave
# them, so a Number parameter arrives as int 10 and a boolean as True. AWS
# stores and delivers every value as a string ("10", "true").
def _to_env_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _apply_lambda_env_strings() -> str:
    from moto.awslambda.models import LambdaFunction

    if isinstance(LambdaFunction.__dict__.get("environment_vars"), property):
        return "already applied"
    _require(LambdaFunction, "__init__", "lambda_env_strings")
    source = inspect.getsource(LambdaFunction.__init__)
    if "self.environment_vars" not in source:
        raise _mismatch("lambda_env_strings", "no longer sets LambdaFunction.environment_vars")

    def _get(self):
        return self.__dict__.get("_sqslab_environment_vars", {})

    def _set(self, variables):
        self.__dict__["_sqslab_environment_vars"] = {
            str(k): _to_env_string(v) for k, v in (variables or {}).items()
        }

    LambdaFunction.environment_vars = property(_get, _set)
    return "LambdaFunction.environment_vars stores strings"


# ---------------------------------------------------------------------------
# lambda_local_runtime
# Upstream gap: moto runs Lambda code only in Docker (LambdaFunction.invoke ->
# _invoke_lambda -> docker), answering "error running docker" without it. This
# routes LambdaFunction.invoke, which direct, asynchronous and event-source
# invokes all go through, to sqslab's local runtime of worker processes.
def _apply_lambda_local_runtime() -> str:
    from moto.awslambda.models import LambdaFunction

    params = ("self", "body", "request_headers", "response_headers")
    if _original(LambdaFunction, "invoke", "lambda_local_runtime", params) is None:
        return "already applied"
    for attr in ("code_bytes", "handler", "run_time", "timeout", "memory_size", "logs_backend"):
        if attr not in inspect.getsource(LambdaFunction):
            raise _mismatch("lambda_local_runtime", f"LambdaFunction no longer has {attr}")

    def invoke(self, body, request_headers, response_headers):
        from sqslab.offline import runtime

        return runtime.get().invoke(self, body, request_headers, response_headers)

    _mark(invoke, "lambda_local_runtime")
    LambdaFunction.invoke = invoke
    return "LambdaFunction.invoke runs handlers in local worker processes"


# ---------------------------------------------------------------------------
# cfn_create_failure_rolls_back
# Upstream gap: when a resource fails during CreateStack, moto lets the
# exception escape the API call (a JSON error body in a query-protocol
# response, which boto3 cannot parse), leaves the stack CREATE_IN_PROGRESS
# and keeps the resources already created. CloudFormation records the
# resource's CREATE_FAILED event with its reason, deletes what it created and
# ends in ROLLBACK_COMPLETE. This records which resource failed and why, and
# rolls the stack back the same way.
class ResourceCreateFailed(Exception):
    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or (exc.args[-1] if exc.args else "") or type(exc).__name__
    return str(message)


def _apply_create_failure_rollback() -> str:
    from moto.cloudformation import models, parsing

    original_parse = _original(parsing, "parse_and_create_resource", "cfn_create_failure_rolls_back",
                               ("logical_id", "resource_json", "resources_map"))
    if original_parse is None:
        return "already applied"
    original_create = _require(models.Stack, "create_resources", "cfn_create_failure_rolls_back")
    event_cls = _require(models, "Event", "cfn_create_failure_rolls_back")
    output_map_cls = _require(parsing, "OutputMap", "cfn_create_failure_rolls_back")
    if "self._resource_json_map" not in inspect.getsource(parsing.ResourceMap):
        raise _mismatch("cfn_create_failure_rolls_back", "ResourceMap has no _resource_json_map")

    def parse_and_create_resource(logical_id, resource_json, resources_map, *args, **kwargs):
        try:
            resource = original_parse(logical_id, resource_json, resources_map, *args, **kwargs)
        except ResourceCreateFailed:
            raise
        except Exception as exc:
            raise ResourceCreateFailed(logical_id, resource_json.get("Type", "?"), _reason(exc)) from exc
        failed = getattr(resource, "_sqslab_failed", None)
        if isinstance(resource, models.Stack) and failed is not None:
            # A nested stack that rolled back fails its parent's resource, and goes with it.
            models.cloudformation_backends[resource.account_id][resource.region_name].delete_stack(resource.stack_id)
            raise ResourceCreateFailed(
                logical_id, "AWS::CloudFormation::Stack",
                f"Embedded stack {resource.stack_id} was not successfully created: "
                f"The following resource(s) failed to create: [{failed}].",
            )
        return resource

    def create_resources(self):
        try:
            return original_create(self)
        except ResourceCreateFailed as failed:
            self._sqslab_failed = failed.logical_id
            self.events.append(
                event_cls(
                    stack_id=self.stack_id,
                    stack_name=self.name,
                    logical_resource_id=failed.logical_id,
                    physical_resource_id="",
                    resource_type=failed.resource_type,
                    resource_status="CREATE_FAILED",
                    resource_status_reason=failed.reason,
                    resource_properties=None,
                )
            )
            self._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason="The following resource(s) failed "
                                  f"to create: [{failed.logical_id}]. Rollback requested by user.")
            try:
                self.resource_map.delete()
            finally:
                # moto's maps create a resource the first time it is looked up: a rolled-back
                # stack keeps nothing to look up, or DescribeStacks (its Outputs) and
                # ListStackResources would create its resources again.
                self.resource_map._resource_json_map = {}
                self.output_map = output_map_cls(self.resource_map, {}, self.stack_id)
                self._add_stack_event("ROLLBACK_COMPLETE")
                self.status = "ROLLBACK_COMPLETE"

    _mark(parse_and_create_resource, "cfn_create_failure_rolls_back", original_parse)
    parsing.parse_and_create_resource = parse_and_create_resource
    models.Stack.create_resources = create_resources
    return "a failed resource rolls the stack back (ROLLBACK_COMPLETE) with a CREATE_FAILED event"


# ---------------------------------------------------------------------------
# cfn_create_refuses_existing_names
# Upstream gap: moto's CloudFormation takes over a named resource that already
# exists: CreateQueue is idempotent, so a stack "creates" a queue another stack
# (or a user) made, and LambdaBackend.put_function silently replaces an existing
# function. A failed create then rolls back by deleting resources it never made,
# another stack's among them. CloudFormation's create handlers fail with
# AlreadyExists when "the specified resource already existed before the
# execution of this handler" (Extension development guide, "Resource type
# handler error codes"; contract test contract_create_create), so a rollback
# only ever deletes what that create made. This refuses a named resource whose
# name another stack owns (any type), or that exists outside any stack (the
# types moto would otherwise take over: SQS queues and Lambda functions).
def _names_match(physical_id: str, name: str) -> bool:
    physical_id = str(physical_id)
    return physical_id == name or physical_id.endswith(("/" + name, ":" + name))


def _owner_of(backend, stack_id: str, resource_type: str, name: str):
    """The other live stack that holds a ``resource_type`` named ``name``, if any."""
    for stack in list(backend.stacks.values()):
        if stack.stack_id == stack_id or stack.status.startswith("DELETE"):
            continue
        parsed = getattr(getattr(stack, "resource_map", None), "_parsed_resources", {}) or {}
        for resource in list(parsed.values()):
            if isinstance(resource, str) or resource is None:
                continue
            if getattr(resource, "cf_resource_type", None) != resource_type:
                continue
            if _names_match(getattr(resource, "physical_resource_id", ""), name):
                return stack
    return None


def _exists_outside_stacks(resource_type: str, name: str, account_id: str, region_name: str) -> bool:
    if resource_type == "AWS::SQS::Queue":
        from moto.sqs.models import sqs_backends

        return name in sqs_backends[account_id][region_name].queues
    if resource_type == "AWS::Lambda::Function":
        from moto.awslambda.models import lambda_backends

        return name in lambda_backends[account_id][region_name]._lambdas._functions
    return False  # moto's other create paths raise their own "already exists"


def _apply_create_refuses_existing_names() -> str:
    from moto.awslambda.models import LambdaStorage
    from moto.cloudformation import parsing
    from moto.cloudformation.models import cloudformation_backends
    from moto.sqs.models import SQSBackend

    patch = "cfn_create_refuses_existing_names"
    original = _original(parsing, "parse_and_create_resource", patch, ("logical_id", "resource_json", "resources_map"))
    if original is None:
        return "already applied"
    for func in ("resource_name_property_from_type", "parse_resource_and_generate_name"):
        _require(parsing, func, patch)
    for cls, attr in ((parsing.ResourceMap, "self._parsed_resources"), (SQSBackend, "self.queues"),
                      (LambdaStorage, "self._functions")):
        if attr not in inspect.getsource(cls):
            raise _mismatch(patch, f"{cls.__name__} has no {attr.split('.')[1]}")

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name, *args, **kwargs):
        rtype = resource_json.get("Type", "")
        name_property = parsing.resource_name_property_from_type(rtype)
        condition = resource_json.get("Condition")
        named = name_property and name_property in (resource_json.get("Properties") or {})
        if named and not (condition and not resources_map.lazy_condition_map[condition]):
            _, _, name = parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
            backend = cloudformation_backends[account_id][region_name]
            owner = _owner_of(backend, resources_map.stack_id, rtype, str(name))
            if owner is not None:
                raise ResourceCreateFailed(logical_id, rtype, f"{name} already exists in stack {owner.stack_id}")
            if _exists_outside_stacks(rtype, str(name), account_id, region_name):
                raise ResourceCreateFailed(
                    logical_id, rtype, f"Resource of type '{rtype}' with identifier '{name}' already exists."
                )
        return original(logical_id, resource_json, resources_map, account_id, region_name, *args, **kwargs)

    _mark(parse_and_create_resource, patch, original)
    parsing.parse_and_create_resource = parse_and_create_resource
    return "a named resource that already exists fails its create (AlreadyExists) instead of being taken over"


# ---------------------------------------------------------------------------
# cfn_nested_stack_updates_in_place
# Upstream gap: moto's Stack.update_from_cloudformation_json (the
# AWS::CloudFormation::Stack resource) deletes the nested stack and creates a new
# one whenever its Parameters or TemplateURL change, so an update of the parent
# deletes the child's queue with its messages and makes a new, empty one.
# CloudFormation updates a nested stack in place ("Nested stacks", AWS
# CloudFormation User Guide: "When you update the parent stack, CloudFormation
# updates the nested stacks"), and each of its resources is updated, not replaced,
# where its own update rules allow (a queue's VisibilityTimeout: no interruption).
def _apply_nested_stack_updates_in_place() -> str:
    from moto.cloudformation import models

    patch = "cfn_nested_stack_updates_in_place"
    original = _original(models.Stack, "update_from_cloudformation_json", patch)
    if original is None:
        return "already applied"
    fetch = _require(models, "get_stack_from_s3_url", patch)
    _require_params(models.Stack.update, ("self", "template", "role_arn", "parameters"), patch)
    _require(models, "get_partition", patch)

    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        template = fetch(properties["TemplateURL"], account_id=account_id,
                         partition=models.get_partition(region_name))
        original_resource.update(template, parameters=properties.get("Parameters", {}))
        return original_resource

    _mark(update_from_cloudformation_json, patch, original)
    models.Stack.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    return "a nested stack is updated in place, its resources kept"


# ---------------------------------------------------------------------------
# iam_role_policy_json
# Upstream gap: a role created by CloudFormation with inline `Policies` keeps
# each PolicyDocument as a Python dict (moto.iam.models.Role.put_policy stores
# what it is given), so GetRolePolicy returns its repr, not JSON, and nothing
# can read the policy back. IAM stores and returns policy documents as JSON.
def _apply_role_policy_json() -> str:
    from moto.iam.models import Role

    original = _original(Role, "put_policy", "iam_role_policy_json", ("self", "policy_name", "policy_json"))
    if original is None:
        return "already applied"

    def put_policy(self, policy_name, policy_json):
        if isinstance(policy_json, dict):
            policy_json = json.dumps(policy_json)
        return original(self, policy_name, policy_json)

    _mark(put_policy, "iam_role_policy_json", original)
    Role.put_policy = put_policy
    return "Role.put_policy stores JSON"


# ---------------------------------------------------------------------------
# iam_role_managed_policies
# Upstream gap: moto.iam.models.Role.create_from_cloudformation_json ignores
# the role's ManagedPolicyArns, so a CloudFormation role shows no attached
# policies (AWSLambdaBasicExecutionRole here). CloudFormation attaches them.
def _apply_role_managed_policies() -> str:
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    original = _original(Role, "create_from_cloudformation_json", "iam_role_managed_policies")
    if original is None:
        return "already applied"
    if "ManagedPolicyArns" in inspect.getsource(original):
        return "not needed: this moto attaches ManagedPolicyArns itself"
    func = original.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = func(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id][get_partition(region_name)]
        for arn in (cloudformation_json.get("Properties") or {}).get("ManagedPolicyArns", []):
            backend.attach_role_policy(arn, role.name)
        return role

    delete_func = _require(Role, "delete_from_cloudformation_json", "iam_role_managed_policies").__func__

    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        # CloudFormation detaches what it attached before deleting the role.
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(arn, role.name)
        return delete_func(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    _mark(create_from_cloudformation_json, "iam_role_managed_policies", original)
    Role.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    Role.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)
    return "CloudFormation roles get their ManagedPolicyArns attached, and detached on delete"


PATCHES: tuple[Patch, ...] = (
    Patch("cfn_getatt_short_form", "YAML !GetAtt split on every dot", _apply_getatt_short_form),
    Patch("cfn_nested_stack_outputs", "Stack has no get_cfn_attribute", _apply_nested_stack_outputs),
    Patch("cfn_create_failure_rolls_back", "a failed resource escapes CreateStack", _apply_create_failure_rollback),
    Patch("cfn_create_refuses_existing_names", "a create takes over a named resource that exists",
          _apply_create_refuses_existing_names),
    Patch("cfn_nested_stack_updates_in_place", "a nested stack is replaced on every update",
          _apply_nested_stack_updates_in_place),
    Patch("iam_role_policy_json", "CloudFormation role policies stored as dict repr", _apply_role_policy_json),
    Patch("iam_role_managed_policies", "CloudFormation roles ignore ManagedPolicyArns", _apply_role_managed_policies),
    Patch("lambda_env_strings", "environment values kept as int/bool", _apply_lambda_env_strings),
    Patch("lambda_local_runtime", "Lambda code runs only in Docker", _apply_lambda_local_runtime),
)


def apply_all() -> dict[str, str]:
    """Apply every patch once; returns what each did. Raises PatchError on a mismatch."""
    for patch in PATCHES:
        if patch.name not in _applied:
            _applied[patch.name] = patch.apply()
    return dict(_applied)


def applied() -> dict[str, str]:
    return dict(_applied)
