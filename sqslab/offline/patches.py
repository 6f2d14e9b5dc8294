"""Small, named fixes to moto, applied inside the offline server process only.

Each patch names the upstream gap it covers, checks that the moto internals it
touches still look the way it expects, and raises :class:`PatchError` with a
clear message when they do not, instead of silently misbehaving on a moto
release whose internals changed. The supported moto range is pinned in
``pyproject.toml``.
"""

from __future__ import annotations

import inspect
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


def _require(obj, attr: str, patch: str):
    try:
        return getattr(obj, attr)
    except AttributeError:
        import moto

        raise PatchError(
            f"patch {patch}: moto {moto.__version__} has no {getattr(obj, '__name__', obj)}.{attr}; "
            f"its internals changed. Install {SUPPORTED} (pip install '{SUPPORTED}')"
        ) from None


def _require_params(func, expected: tuple[str, ...], patch: str) -> None:
    params = tuple(inspect.signature(func).parameters)
    if params[: len(expected)] != expected:
        import moto

        raise PatchError(
            f"patch {patch}: moto {moto.__version__} changed {func.__qualname__}{params}, "
            f"expected {expected}. Install {SUPPORTED}"
        )


# ---------------------------------------------------------------------------
# cfn_getatt_short_form
# Upstream gap: moto.cloudformation.utils.yaml_tag_constructor splits the scalar
# of the YAML short form `!GetAtt A.Outputs.X` on every dot, giving
# ["A", "Outputs", "X"]; CloudFormation splits on the first dot only, giving
# ["A", "Outputs.X"]. moto registers the constructor by name at parse time from
# cloudformation.models and cloudformation.responses, so both names are wrapped.
def _apply_getatt_short_form() -> str:
    from moto.cloudformation import models, responses

    original = _require(models, "yaml_tag_constructor", "cfn_getatt_short_form")
    if getattr(original, "_sqslab_patched", False):
        return "already applied"
    _require_params(original, ("loader", "tag", "node"), "cfn_getatt_short_form")

    def yaml_tag_constructor(loader, tag, node):
        if tag == "!GetAtt" and isinstance(getattr(node, "value", None), str):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        return original(loader, tag, node)

    yaml_tag_constructor._sqslab_patched = True
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
        Stack.__dict__["get_cfn_attribute"], "_sqslab_patched", False
    ):
        return "not needed: this moto resolves nested stack outputs itself"
    if "self.output_map" not in inspect.getsource(Stack.__init__):
        import moto

        raise PatchError(
            f"patch cfn_nested_stack_outputs: moto {moto.__version__} Stack has no output_map. Install {SUPPORTED}"
        )
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

    get_cfn_attribute._sqslab_patched = True
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
        import moto

        raise PatchError(
            f"patch lambda_env_strings: moto {moto.__version__} no longer sets "
            f"LambdaFunction.environment_vars. Install {SUPPORTED}"
        )

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

    current = _require(LambdaFunction, "invoke", "lambda_local_runtime")
    if getattr(current, "_sqslab_patched", False):
        return "already applied"
    _require_params(current, ("self", "body", "request_headers", "response_headers"), "lambda_local_runtime")
    for attr in ("code_bytes", "handler", "run_time", "timeout", "memory_size", "logs_backend"):
        if attr not in inspect.getsource(LambdaFunction):
            raise PatchError(f"patch lambda_local_runtime: LambdaFunction no longer has {attr}. Install {SUPPORTED}")

    def invoke(self, body, request_headers, response_headers):
        from sqslab.offline import runtime

        return runtime.get().invoke(self, body, request_headers, response_headers)

    invoke._sqslab_patched = True
    LambdaFunction.invoke = invoke
    return "LambdaFunction.invoke runs handlers in local worker processes"


PATCHES: tuple[Patch, ...] = (
    Patch("cfn_getatt_short_form", "YAML !GetAtt split on every dot", _apply_getatt_short_form),
    Patch("cfn_nested_stack_outputs", "Stack has no get_cfn_attribute", _apply_nested_stack_outputs),
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
