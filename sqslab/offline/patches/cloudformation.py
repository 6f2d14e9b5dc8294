"""The CloudFormation patches: nested stacks, short-form GetAtt, and creates that fail
or meet a name already taken the way CloudFormation handles them."""

from __future__ import annotations

import functools
import inspect

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of, require_attr, require_params

# ---------------------------------------------------------------------------
# cfn_models_of_series_services
# Upstream gap: moto.cloudformation.parsing imports the models of 30 services as it loads, so
# that their resource types are known to it. EC2's models, with the ten services built on them,
# cost about 90 MB and 0.7 s, API Gateway's 30 MB and 1.5 s: most of the offline server's memory,
# for resource types no template of the series uses (SQS, Lambda, IAM, Logs, S3, DynamoDB, SNS;
# CloudWatch, EventBridge, KMS and the other light ones stay). The parser gets stand-ins for the
# services in LEFT_OUT: a name it reads from one (an SSM parameter, an EC2 tag) loads the real
# module then. Their resource types are not known to offline CloudFormation (README); their APIs
# load, as before, on a service's first request.
LEFT_OUT = ("apigateway", "autoscaling", "batch", "ec2", "ecs", "efs", "elb", "elbv2", "emr", "rds",
            "redshift", "ssm")


class _Later:
    """A name of a module not loaded: the module is imported when the name is first used."""

    def __init__(self, module: str, name: str):
        self._where = (module, name)

    def real(self):
        import importlib

        module, name = self._where
        return getattr(importlib.import_module(module), name)

    def __getitem__(self, key):  # ssm_backends[account][region]
        return self.real()[key]

    def __getattr__(self, attr):
        return getattr(self.real(), attr)


class _LaterClassMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        import sys

        module = sys.modules.get(cls._module)  # nothing is an instance of a class never loaded
        return module is not None and isinstance(obj, getattr(module, cls.__name__))


def _stand_in(name: str):
    import importlib
    import types

    class StandIn(types.ModuleType):
        def __getattr__(self, attr):
            import sys

            if attr.startswith("__") or sys.modules.get(name) is self:  # dunders; or still standing in
                raise AttributeError(attr)
            return getattr(importlib.import_module(name), attr)

    return StandIn(name)


def apply_models_of_series_services() -> str:
    import sys

    patch = "cfn_models_of_series_services"
    if "moto.cloudformation.parsing" in sys.modules:
        parsing = sys.modules["moto.cloudformation.parsing"]
        if getattr(parsing, "_sqslab_left_out", None) == LEFT_OUT:
            return "already applied"
        return "nothing left out: CloudFormation's parser was loaded before"
    stand_ins = {}
    for service in LEFT_OUT:
        package, models = _stand_in(f"moto.{service}"), _stand_in(f"moto.{service}.models")
        package.models = models
        stand_ins[package.__name__], stand_ins[models.__name__] = package, models
    core = stand_ins["moto.ec2.models.core"] = _stand_in("moto.ec2.models.core")
    core.TaggedEC2Resource = _LaterClassMeta("TaggedEC2Resource", (), {"_module": "moto.ec2.models.core"})
    stand_ins["moto.ssm"].ssm_backends = _Later("moto.ssm", "ssm_backends")
    taken = [name for name in stand_ins if name in sys.modules]
    if taken:
        return f"nothing left out: {', '.join(taken)} already loaded"
    sys.modules.update(stand_ins)
    try:
        from moto.cloudformation import parsing
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    loaded = [s for s in LEFT_OUT if f"moto.{s}.models" in sys.modules]
    if loaded:
        raise mismatch_error(patch, f"loads {', '.join(loaded)} from elsewhere than its parser")
    parsing._sqslab_left_out = LEFT_OUT
    return f"CloudFormation's parser loaded without {len(LEFT_OUT)} services' models"


# ---------------------------------------------------------------------------
# cfn_getatt_short_form
# Upstream gap: moto.cloudformation.utils.yaml_tag_constructor splits the scalar
# of the YAML short form `!GetAtt A.Outputs.X` on every dot, giving
# ["A", "Outputs", "X"]; CloudFormation splits on the first dot only, giving
# ["A", "Outputs.X"]. moto registers the constructor by name at parse time from
# cloudformation.models and cloudformation.responses, so both names are wrapped.
def apply_getatt_short_form() -> str:
    from moto.cloudformation import models, responses

    original = original_of(models, "yaml_tag_constructor", "cfn_getatt_short_form", ("loader", "tag", "node"))
    if original is None:
        return "already applied"

    def yaml_tag_constructor(loader, tag, node):
        if tag == "!GetAtt" and isinstance(getattr(node, "value", None), str):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        return original(loader, tag, node)

    mark_applied(yaml_tag_constructor, "cfn_getatt_short_form", original)
    models.yaml_tag_constructor = yaml_tag_constructor
    responses.yaml_tag_constructor = yaml_tag_constructor
    return "wrapped yaml_tag_constructor in cloudformation.models and .responses"


# ---------------------------------------------------------------------------
# cfn_update_failure_rolls_back
# Upstream gap: a resource that fails during moto's UpdateStack (Lambda refusing a mapping's new
# BatchSize, say) raises out of the API call: the client gets the other service's error where
# CloudFormation answers (boto3 cannot even parse it), and the resources updated before it keep
# their new settings while the stack says it is unchanged. CloudFormation answers UpdateStack,
# then fails the resource (UPDATE_FAILED, with the service's message), rolls every resource back
# to the previous template and parameters, and ends UPDATE_ROLLBACK_COMPLETE ("Stack failure
# options", "Monitor the progress of a stack update"). Here the same: the update is undone by
# updating the stack again with what it had.
class ResourceFailed(Exception):
    """A resource CloudFormation could not create or update, and why."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


class ResourceUpdateFailed(ResourceFailed):
    pass


def apply_update_failure_rollback() -> str:
    from moto.cloudformation import models, parsing

    patch = "cfn_update_failure_rolls_back"
    original_parse = original_of(parsing, "parse_and_update_resource", patch,
                                 ("logical_id", "resource_json", "resources_map"))
    if original_parse is None:
        return "already applied"
    original_update = original_of(models.Stack, "update", patch, ("self", "template", "role_arn", "parameters"))
    event_cls = require_attr(models, "Event", patch)
    for name in ("_parse_template", "_create_output_map", "_add_stack_event"):
        require_attr(models.Stack, name, patch)
    if "self.resource_map.update(" not in inspect.getsource(original_update):
        raise mismatch_error(patch, "Stack.update no longer updates its resource map")

    @functools.wraps(original_parse)
    def parse_and_update_resource(logical_id, resource_json, resources_map, *args, **kwargs):
        try:
            return original_parse(logical_id, resource_json, resources_map, *args, **kwargs)
        except ResourceUpdateFailed:
            raise
        except Exception as exc:
            raise ResourceUpdateFailed(logical_id, resource_json.get("Type", "?"), _reason(exc)) from exc

    @functools.wraps(original_update)
    def update(self, template, role_arn=None, parameters=None, tags=None):
        before = (self.template, dict(self.parameters or {}), self.role_arn)
        try:
            return original_update(self, template, role_arn, parameters, tags)
        except ResourceFailed as failed:  # a resource changed, or one the update added
            self.events.append(event_cls(
                stack_id=self.stack_id, stack_name=self.name, logical_resource_id=failed.logical_id,
                physical_resource_id="", resource_type=failed.resource_type,
                resource_status="UPDATE_FAILED" if isinstance(failed, ResourceUpdateFailed) else "CREATE_FAILED",
                resource_status_reason=failed.reason, resource_properties=None))
            self._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason="The following resource(s) "
                                  f"failed to update: [{failed.logical_id}].")
            self.template, old_parameters, self.role_arn = before
            outcome = "UPDATE_ROLLBACK_COMPLETE"
            try:
                self._parse_template()
                # moto compares only the parameters it is given: every one the update set is given back,
                # as it was, or as the previous template's default
                defaults = {name: str(spec["Default"]) for name, spec in
                            (self.template_dict.get("Parameters") or {}).items()
                            if isinstance(spec, dict) and "Default" in spec}
                back = {name: old_parameters.get(name, defaults.get(name))
                        for name in {*old_parameters, *(parameters or {})} if name in old_parameters or name in defaults}
                self.resource_map.update(self.template_dict, back)
                self.output_map = self._create_output_map()
                self.parameters = old_parameters
            except Exception as exc:  # CloudFormation has answered: a rollback that fails is the stack's state
                outcome = "UPDATE_ROLLBACK_FAILED"
                self._add_stack_event(outcome, resource_status_reason=_reason(exc))
            else:
                self._add_stack_event(outcome)
            self.status = outcome
            if getattr(self, "parent_id", None):  # a nested stack's failure fails its parent's update too
                raise ResourceUpdateFailed(failed.logical_id, failed.resource_type,
                                           f"Embedded stack {self.stack_id} was not successfully updated. "
                                           f"Currently in {outcome}: {failed.reason}") from None
        return None

    parsing.parse_and_update_resource = mark_applied(parse_and_update_resource, patch, original_parse)
    models.Stack.update = mark_applied(update, patch, original_update)
    return "a resource that fails an update rolls the stack back to what it had (UPDATE_ROLLBACK_COMPLETE)"


# ---------------------------------------------------------------------------
# cfn_nested_stack_parent_ids
# Upstream gap: moto's nested stacks have no ParentId or RootId in DescribeStacks, so a nested
# stack looks like a stack of its own. CloudFormation gives both (API reference, Stack: "For
# nested stacks--stacks created as resources for another stack--the stack ID of the direct
# parent of this stack"; RootId, "the stack ID of the top-level stack to which the nested stack
# ultimately belongs"), which is how a tool knows not to update or delete one directly.
def apply_nested_stack_parent_ids() -> str:
    from moto.cloudformation.models import Stack, cloudformation_backends

    patch = "cfn_nested_stack_parent_ids"
    create = original_of(Stack, "create_from_cloudformation_json", patch)
    if create is None:
        return "already applied"

    @functools.wraps(create)
    def create_nested(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        stack = create.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        parent_id = kwargs.get("StackId")
        if parent_id:
            parent = cloudformation_backends[account_id][region_name].stacks.get(parent_id)
            stack.parent_id = parent_id
            stack.root_id = getattr(parent, "root_id", None) or parent_id
        return stack

    Stack.create_from_cloudformation_json = classmethod(mark_applied(create_nested, patch, create))
    return "nested stacks carry ParentId and RootId"


# ---------------------------------------------------------------------------
# cfn_nested_stack_outputs
# Upstream gap: moto.cloudformation.models.Stack (the AWS::CloudFormation::Stack
# resource of a nested stack) says it has every attribute (has_cfn_attr returns
# True) but defines no get_cfn_attribute, so `Fn::GetAtt Child.Outputs.Name`
# raises AttributeError. CloudFormation resolves it to the child's output value.
def apply_nested_stack_outputs() -> str:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudformation.models import Stack

    if "get_cfn_attribute" in Stack.__dict__ and not getattr(
        Stack.__dict__["get_cfn_attribute"], "_sqslab_patches", False
    ):
        return "not needed: this moto resolves nested stack outputs itself"
    if "self.output_map" not in inspect.getsource(Stack.__init__):
        raise mismatch_error("cfn_nested_stack_outputs", "Stack has no output_map")
    from moto.cloudformation.parsing import OutputMap

    require_attr(OutputMap, "outputs", "cfn_nested_stack_outputs")

    def get_cfn_attribute(self, attribute_name: str):
        prefix = "Outputs."
        if not attribute_name.startswith(prefix):
            raise UnformattedGetAttTemplateException()
        key = attribute_name[len(prefix):]
        output = self.output_map.get(key) if key in self.output_map.outputs else None
        if output is None:
            raise UnformattedGetAttTemplateException()
        return output.value

    mark_applied(get_cfn_attribute, "cfn_nested_stack_outputs")
    Stack.get_cfn_attribute = get_cfn_attribute
    return "added Stack.get_cfn_attribute for Outputs.<Name>"


# ---------------------------------------------------------------------------
# cfn_create_failure_rolls_back
# Upstream gap: when a resource fails during CreateStack, moto lets the
# exception escape the API call (a JSON error body in a query-protocol
# response, which boto3 cannot parse), leaves the stack CREATE_IN_PROGRESS
# and keeps the resources already created. CloudFormation records the
# resource's CREATE_FAILED event with its reason, deletes what it created and
# ends in ROLLBACK_COMPLETE. This records which resource failed and why, and
# rolls the stack back the same way.
class ResourceCreateFailed(ResourceFailed):
    pass


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or (exc.args[-1] if exc.args else "") or type(exc).__name__
    return str(message)


def apply_create_failure_rollback() -> str:
    from moto.cloudformation import models, parsing

    original_parse = original_of(parsing, "parse_and_create_resource", "cfn_create_failure_rolls_back",
                               ("logical_id", "resource_json", "resources_map"))
    if original_parse is None:
        return "already applied"
    original_create = require_attr(models.Stack, "create_resources", "cfn_create_failure_rolls_back")
    event_cls = require_attr(models, "Event", "cfn_create_failure_rolls_back")
    output_map_cls = require_attr(parsing, "OutputMap", "cfn_create_failure_rolls_back")
    if "self._resource_json_map" not in inspect.getsource(parsing.ResourceMap):
        raise mismatch_error("cfn_create_failure_rolls_back", "ResourceMap has no _resource_json_map")

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

    mark_applied(parse_and_create_resource, "cfn_create_failure_rolls_back", original_parse)
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
def _owner_of(backend, stack_id: str, resource_type: str, name: str):
    """The other live stack that holds a ``resource_type`` named ``name``, if any."""
    from sqslab.base.names import names_match

    for stack in list(backend.stacks.values()):
        if stack.stack_id == stack_id or stack.status.startswith("DELETE"):
            continue
        parsed = getattr(getattr(stack, "resource_map", None), "_parsed_resources", {}) or {}
        for resource in list(parsed.values()):
            if isinstance(resource, str) or resource is None:
                continue
            if getattr(resource, "cf_resource_type", None) != resource_type:
                continue
            if names_match(getattr(resource, "physical_resource_id", ""), name):
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


def apply_create_refuses_existing_names() -> str:
    from moto.awslambda.models import LambdaStorage
    from moto.cloudformation import parsing
    from moto.cloudformation.models import cloudformation_backends
    from moto.sqs.models import SQSBackend

    patch = "cfn_create_refuses_existing_names"
    original = original_of(parsing, "parse_and_create_resource", patch, ("logical_id", "resource_json", "resources_map"))
    if original is None:
        return "already applied"
    for func in ("resource_name_property_from_type", "parse_resource_and_generate_name"):
        require_attr(parsing, func, patch)
    for cls, attr in ((parsing.ResourceMap, "self._parsed_resources"), (SQSBackend, "self.queues"),
                      (LambdaStorage, "self._functions")):
        if attr not in inspect.getsource(cls):
            raise mismatch_error(patch, f"{cls.__name__} has no {attr.split('.')[1]}")

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

    mark_applied(parse_and_create_resource, patch, original)
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
def apply_nested_stack_updates_in_place() -> str:
    from moto.cloudformation import models

    patch = "cfn_nested_stack_updates_in_place"
    original = original_of(models.Stack, "update_from_cloudformation_json", patch)
    if original is None:
        return "already applied"
    fetch = require_attr(models, "get_stack_from_s3_url", patch)
    require_params(models.Stack.update, ("self", "template", "role_arn", "parameters"), patch)
    require_attr(models, "get_partition", patch)

    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        template = fetch(properties["TemplateURL"], account_id=account_id,
                         partition=models.get_partition(region_name))
        original_resource.update(template, parameters=properties.get("Parameters", {}))
        return original_resource

    mark_applied(update_from_cloudformation_json, patch, original)
    models.Stack.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    return "a nested stack is updated in place, its resources kept"


# ---------------------------------------------------------------------------
# cfn_mapping_update_resets_removed_properties
# Upstream gap: moto's EventSourceMapping.update_from_cloudformation_json passes
# the new Properties to LambdaBackend.update_event_source_mapping, which sets only
# the keys present: a property the updated template no longer sets (removed, or
# `!Ref AWS::NoValue` under a Condition, e.g. FunctionResponseTypes) keeps its old
# value. CloudFormation sets the resource to its new template: a property left out
# takes its default, as a create without it would ("Update behaviors of stack
# resources", AWS CloudFormation User Guide). This passes each property moto's
# update knows and the new template leaves out with its create default.
_MAPPING_DEFAULTS = {
    "BatchSize": None,  # moto's setter then takes the source's default (10 for SQS)
    "Enabled": True,
    "FilterCriteria": None,
    "MaximumBatchingWindowInSeconds": None,
    "FunctionResponseTypes": None,
    "ScalingConfig": None,
    "DestinationConfig": None,
    "MaximumRecordAgeInSeconds": None,
    "BisectBatchOnFunctionError": None,
    "MaximumRetryAttempts": None,
    "ParallelizationFactor": None,
    "TumblingWindowInSeconds": None,
}


def apply_mapping_update_resets_removed_properties() -> str:
    from moto.awslambda import models

    patch = "cfn_mapping_update_resets_removed_properties"
    original = original_of(models.EventSourceMapping, "update_from_cloudformation_json", patch,
                         ("original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"))
    if original is None:
        return "already applied"
    require_attr(models.LambdaBackend, "update_event_source_mapping", patch)
    source = inspect.getsource(models)  # the module's text: moto's own update, whatever wraps it at run time
    unknown = [key for key in _MAPPING_DEFAULTS if f'key == "{key}"' not in source]
    if unknown:
        raise mismatch_error(patch, f"update_event_source_mapping no longer sets {', '.join(unknown)}")

    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name, **kwargs):
        properties = dict(cloudformation_json.get("Properties") or {})
        for key, default in _MAPPING_DEFAULTS.items():
            properties.setdefault(key, default)
        return original(original_resource, new_resource_name, {**cloudformation_json, "Properties": properties},
                        account_id, region_name, **kwargs)

    mark_applied(update_from_cloudformation_json, patch, original)
    models.EventSourceMapping.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    return "a mapping's properties left out of an updated template go back to their defaults"


# ---------------------------------------------------------------------------
# cfn_update_follows_conditions
# Upstream gap: when an update changes only parameters, moto's
# ResourceMap.build_resource_diff modifies the resources that `Ref` a changed
# parameter and no others: a resource that reads it through a Condition
# (`!If [Cond, a, b]`, Cond defined on the parameter) keeps its old properties.
# CloudFormation evaluates the template with the new parameters and updates every
# resource whose properties come out different. This adds to the update the
# resources whose Fn::If conditions read a changed parameter (directly or through
# another condition).
def _condition_names(value) -> set[str]:
    """The conditions a resource's properties test with Fn::If."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::If" and isinstance(inner, list) and inner and isinstance(inner[0], str):
                found.add(inner[0])
            found |= _condition_names(inner)
    elif isinstance(value, list):
        for item in value:
            found |= _condition_names(item)
    return found


def _condition_parameters(name: str, conditions: dict, seen: frozenset = frozenset()) -> set[str]:
    """The names a condition reads with Ref, following the conditions it names."""
    if name in seen or name not in conditions:
        return set()
    names: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "Ref" and isinstance(inner, str):
                    names.add(inner)
                elif key == "Condition" and isinstance(inner, str):
                    names.update(_condition_parameters(inner, conditions, seen | {name}))
                else:
                    walk(inner)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(conditions[name])
    return names


def apply_update_follows_conditions() -> str:
    from moto.cloudformation import parsing

    patch = "cfn_update_follows_conditions"
    original = original_of(parsing.ResourceMap, "build_resource_diff", patch, ("self", "other_template", "parameters"))
    if original is None:
        return "already applied"
    if "self.input_parameters" not in inspect.getsource(parsing.ResourceMap):
        raise mismatch_error(patch, "ResourceMap has no input_parameters")

    def build_resource_diff(self, other_template, parameters=None):
        diff = original(self, other_template, parameters)
        if not parameters or "Modify" not in diff:
            return diff
        changed = {p for p in parameters if self.input_parameters.get(p) != parameters[p]}
        conditions = other_template.get("Conditions") or {}
        for name, resource in (other_template.get("Resources") or {}).items():
            if name in diff["Modify"] or name not in self._resource_json_map:
                continue
            reads = set().union(*(_condition_parameters(c, conditions) for c in _condition_names(resource)), set())
            if reads & changed:
                diff["Modify"].append(name)
        return diff

    mark_applied(build_resource_diff, patch, original)
    parsing.ResourceMap.build_resource_diff = build_resource_diff
    return "an update changes the resources whose conditions read a changed parameter"


# ---------------------------------------------------------------------------
# cfn_queue_update_sets_attributes
# Upstream gap: moto's Queue.update_from_cloudformation_json applies only
# VisibilityTimeout and ReceiveMessageWaitTimeSeconds; every other property an
# updated template changes (RedrivePolicy and its maxReceiveCount, the message
# retention period, ...) is ignored. CloudFormation updates these in place
# (AWS::SQS::Queue: "Update requires: No interruption"), and a RedrivePolicy the
# template no longer sets is removed. This sets them with moto's own
# SetQueueAttributes path after moto's update.
_QUEUE_UPDATABLE = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "RedriveAllowPolicy",
                    "RedrivePolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")


def apply_queue_update_sets_attributes() -> str:
    import copy

    from moto.sqs import models

    patch = "cfn_queue_update_sets_attributes"
    original = original_of(models.Queue, "update_from_cloudformation_json", patch,
                         ("original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"))
    if original is None:
        return "already applied"
    require_params(require_attr(models.SQSBackend, "set_queue_attributes", patch), ("self", "queue_name", "attributes"),
                    patch)
    if 'self.policy = attributes.get("Policy")' not in inspect.getsource(models.Queue._set_attributes):
        raise mismatch_error(patch, "Queue._set_attributes no longer sets the policy it is given")

    from moto.sqs.exceptions import InvalidAttributeValue

    from sqslab.offline.sqs import attributes as queue_attributes

    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties") or {}
        bad = queue_attributes.attribute_out_of_range(properties)  # before moto sets any of them
        if bad is not None:
            raise InvalidAttributeValue(bad)
        queue = original(original_resource, new_resource_name, cloudformation_json, account_id, region_name, **kwargs)
        attributes = {key: copy.deepcopy(properties[key]) for key in _QUEUE_UPDATABLE if key in properties}
        if "RedrivePolicy" not in properties and getattr(queue, "redrive_policy", None):
            attributes["RedrivePolicy"] = ""  # removed from the template: no dead-letter queue any more
        if attributes:
            # moto's _set_attributes sets the queue policy to the one it is given: keep the current one
            attributes["Policy"] = queue.policy
            models.sqs_backends[account_id][region_name].set_queue_attributes(queue.name, attributes)
        return queue

    mark_applied(update_from_cloudformation_json, patch, original)
    models.Queue.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    return "a queue's updated properties (RedrivePolicy, retention, ...) are applied in place"


# ---------------------------------------------------------------------------
# cfn_lambda_layer_versions
# Upstream gaps in moto's AWS::Lambda::LayerVersion: a Ref to it gives moto's model
# object instead of the layer version's ARN; its LayerName is ignored (moto reads a
# property named LayerVersion, so the name is generated); a function's Layers
# property is dropped; and deleting the stack leaves the layer version. CloudFormation
# template reference, AWS::Lambda::LayerVersion: "Ref returns the ARN of the layer
# version", LayerName is "the name or Amazon Resource Name (ARN) of the layer";
# AWS::Lambda::Function, Layers: "A list of function layers to add to the function's
# execution environment. Specify each layer by its ARN, including the version."
def apply_lambda_layer_versions() -> str:
    from moto.awslambda import models

    patch = "cfn_lambda_layer_versions"
    create_function = original_of(models.LambdaFunction, "create_from_cloudformation_json", patch,
                                  ("resource_name", "cloudformation_json", "account_id", "region_name"))
    if create_function is None:
        return "already applied"
    layer = models.LayerVersion
    if not isinstance(layer.__dict__.get("arn"), property):
        raise mismatch_error(patch, "LayerVersion no longer has its arn property")
    if "physical_resource_id" in layer.__dict__:
        raise mismatch_error(patch, "LayerVersion has a physical_resource_id of its own: drop this part")
    if layer.cloudformation_name_type() != "LayerVersion":
        raise mismatch_error(patch, "LayerVersion's name property is no longer misread")
    require_params(require_attr(models.LambdaBackend, "update_function_configuration", patch),
                   ("self", "function_name", "qualifier", "body"), patch)
    require_params(require_attr(models.LambdaBackend, "delete_layer_version", patch),
                   ("self", "layer_name", "layer_version"), patch)
    if '"Layers"' not in inspect.getsource(models.LambdaFunction.update_configuration):
        raise mismatch_error(patch, "UpdateFunctionConfiguration no longer sets Layers")

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        fn = create_function(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        layers = (cloudformation_json.get("Properties") or {}).get("Layers")
        if layers:
            models.lambda_backends[account_id][region_name].update_function_configuration(
                fn.function_name, "$LATEST", {"Layers": list(layers)})
        return fn

    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        name, _, version = str(resource_name).rpartition(":")  # the physical id: the layer version's ARN
        backend = models.lambda_backends[account_id][region_name]
        try:
            backend.delete_layer_version(name.rsplit(":", 1)[-1], version)
        except Exception:  # noqa: BLE001 - already gone: deleting the stack still succeeds
            pass

    mark_applied(create_from_cloudformation_json, patch, create_function)
    models.LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    layer.physical_resource_id = property(mark_applied(lambda self: self.arn, patch))
    layer.cloudformation_name_type = staticmethod(lambda: "LayerName")
    layer.delete_from_cloudformation_json = classmethod(mark_applied(delete_from_cloudformation_json, patch))
    return "layer versions in templates: Ref gives their ARN, LayerName is kept, Layers apply, a delete removes them"


# ---------------------------------------------------------------------------
# cfn_unknown_types_refused
# Upstream gap: moto's CloudFormation skips a resource whose type it does not create, with a
# warning in its log, and the stack still reaches CREATE_COMPLETE without it: a template with an
# AWS::SQS::QueuePolicy, say, deploys half and says nothing. CloudFormation refuses a template
# whose types it does not know at CreateStack ("Template format error: Unrecognized resource
# types: [...]"); the emulator refuses the types it does not create the same way, at CreateStack,
# UpdateStack and CreateChangeSet, before anything is made.
_TEMPLATE_CALLS = ("create_stack", "update_stack", "create_change_set")


def unknown_resource_types(template: str) -> list[str]:
    """The template's resource types that offline CloudFormation does not create."""
    from moto.cloudformation import parsing
    from moto.cloudformation.models import Stack

    try:
        parsed = Stack.parse_template(template)
    except Exception:  # moto reports a template it cannot read in its own words
        return []
    resources = parsed.get("Resources") if isinstance(parsed, dict) else None
    if not isinstance(resources, dict):
        return []
    types = {r.get("Type") for r in resources.values() if isinstance(r, dict) and isinstance(r.get("Type"), str)}
    known = parsing.get_model_map()
    return sorted(t for t in types if t not in known and t not in parsing.NULL_MODELS and not t.startswith("Custom::"))


def apply_unknown_types_refused() -> str:
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack

    patch = "cfn_unknown_types_refused"
    for name in ("get_model_map", "NULL_MODELS"):
        require_attr(parsing, name, patch)
    require_attr(Stack, "parse_template", patch)
    originals = {}
    for name in _TEMPLATE_CALLS:
        original = original_of(CloudFormationBackend, name, patch)
        if original is None:
            return "already applied"
        if "template" not in inspect.signature(original).parameters:
            raise mismatch_error(patch, f"changed CloudFormationBackend.{name}: it has no template parameter")
        originals[name] = original

    def refusing(original):
        signature = inspect.signature(original)

        def call(self, *args, **kwargs):
            template = signature.bind(self, *args, **kwargs).arguments.get("template")
            unknown = unknown_resource_types(template) if isinstance(template, str) else []
            if unknown:
                raise ValidationError(message=(
                    f"Template format error: Unrecognized resource types: [{', '.join(unknown)}] (offline "
                    "CloudFormation does not create these: remove them, or deploy to AWS; the README lists "
                    "what the emulator creates)"))
            return original(self, *args, **kwargs)

        return mark_applied(call, patch, original)

    for name, original in originals.items():
        setattr(CloudFormationBackend, name, refusing(original))
    return "templates with resource types offline CloudFormation does not create are refused"
