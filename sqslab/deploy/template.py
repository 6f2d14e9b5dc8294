"""CloudFormation templates as data, with no AWS call: reading (with the YAML short
forms), parameters checked against the template's own constraints, packaging like
``aws cloudformation package``, cfn-lint, and the physical names a template gives.

- *validate*: parameters checked against the template's own constraints, then
  cfn-lint on the packaged template (and every nested one); problems are
  reported before anything is created.
- *package*: a Lambda ``Code`` given as a local path becomes a zip in the
  artifact bucket (``S3Bucket``/``S3Key``, named by content hash, so unchanged
  code gives an unchanged template), and a nested stack's local ``TemplateURL``
  is packaged and uploaded the same way.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sqslab.base.errors import DeployError, SqslabError
from sqslab.config import DEFAULT_TEMPLATE, NESTED_TEMPLATE, RETRIES_TEMPLATE, TEMPLATES  # noqa: F401 (re-exported)
from sqslab.deploy import checks
from sqslab.deploy.code_zip import zip_directory, zip_distributions

PLACEHOLDER_BUCKET = "sqslab-artifacts-placeholder"


# ------------------------------------------------------------------ templates


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms turned into their long forms."""


def _cfn_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    key = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: str | Path) -> dict:
    """The template as data (a copy of its own: callers change it). A deploy reads the same file
    several times (parameters, names, packaging); it is parsed once while it stays unchanged."""
    path = checks.template_path(path)
    try:
        stat = path.stat()
        return copy.deepcopy(_parse(path, stat.st_mtime_ns, stat.st_size))
    except OSError as exc:
        raise SqslabError(f"template {path} cannot be read: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=32)
def _parse(path: Path, mtime_ns: int, size: int) -> dict:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SqslabError(f"template {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        doc = yaml.load(text, Loader=_CfnLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SqslabError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise SqslabError(f"{path}: not a CloudFormation template (no Resources section)")
    return doc


# ------------------------------------------------------------------ parameters


def check_stack_parameters(doc: dict, given: dict[str, object] | None) -> tuple[dict[str, str], list[str]]:
    """Resolve parameters against the template's declarations.

    Returns (every parameter's value as a string, warnings). Raises SqslabError,
    one line, for an unknown name or a value the template's constraints reject.
    """
    declared: dict = doc.get("Parameters") or {}
    given = checks.parameters(given)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise SqslabError(
            f"unknown parameter {unknown[0]!r}: the template takes {', '.join(declared)}"
        )
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            raw = given[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise SqslabError(f"parameter {name} has no default: give it with --param {name}=VALUE")
        value = str(raw).strip()
        kind = spec.get("Type", "String")
        if kind == "Number":
            # Every Number parameter here counts seconds, megabytes or messages, and each AWS
            # property it feeds takes whole numbers: a whole-number Default marks that.
            default = spec.get("Default")
            whole = isinstance(default, int) or (isinstance(default, str) and default.strip().isdigit())
            value = checks.number_text(name, raw, whole)
            number = float(value)
            lo, hi = spec.get("MinValue"), spec.get("MaxValue")
            if (lo is not None and number < float(lo)) or (hi is not None and number > float(hi)):
                raise SqslabError(
                    f"{name} {value} is out of range: AWS allows {lo} to {hi}"
                    + (f" ({spec['Description'].rstrip('.')})" if spec.get("Description") else "")
                )
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            raise SqslabError(f"{name} {value!r} is not allowed: choose one of {', '.join(map(str, allowed))}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            hint = spec.get("ConstraintDescription") or f"it must match {pattern}"
            raise SqslabError(f"{name} {value!r} is not allowed: {hint}")
        values[name] = value
    return values, _warnings(values)


def _warnings(values: dict[str, str]) -> list[str]:
    warnings = []
    wait, timeout = values.get("ReceiveMessageWaitTimeSeconds"), values.get("Timeout")
    if wait is not None and timeout is not None and float(timeout) <= float(wait):
        warnings.append(
            f"function Timeout {timeout} s is not longer than the {wait} s long-poll wait: "
            "function2 and function3 would time out mid-poll on an empty queue"
        )
    # A function polled through an event source mapping (Lambda Developer Guide, "Using Lambda
    # with Amazon SQS": the queue's visibility timeout must be at least the function's timeout,
    # six times is recommended; a BatchSize over 10 needs a batching window of at least 1 s).
    function_timeout, visibility = values.get("FunctionTimeout"), values.get("VisibilityTimeout")
    if function_timeout is not None and visibility is not None:
        ft, vt = float(function_timeout), float(visibility)
        if ft > vt:
            warnings.append(
                f"FunctionTimeout {function_timeout} s is longer than VisibilityTimeout {visibility} s: "
                f"Lambda refuses the mapping; AWS recommends a visibility timeout of six times the function's "
                f"({6 * ft:g} s)"
            )
        elif vt < 6 * ft:
            warnings.append(
                f"VisibilityTimeout {visibility} s is less than six times FunctionTimeout {function_timeout} s "
                f"({6 * ft:g} s), as AWS recommends: the margin lets Lambda retry a throttled invocation "
                "before its messages become visible again"
            )
    batch, window = values.get("BatchSize"), values.get("MaximumBatchingWindowInSeconds")
    if batch is not None and window is not None and float(batch) > 10 and float(window) < 1:
        warnings.append(
            f"BatchSize {batch} needs MaximumBatchingWindowInSeconds of at least 1 s (it is {window}): "
            "Lambda refuses the mapping on a standard queue"
        )
    return warnings


def parse_param_args(items: list[str] | None) -> dict[str, str]:
    """``["Key=Value", ...]`` from the command line."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SqslabError(f"--param {item!r} is not Key=Value (for example --param VisibilityTimeout=30)")
        params[key.strip()] = value.strip()
    return params


# ------------------------------------------------------------------ packaging


@dataclass
class Artifacts:
    """Where packaged artifacts go. ``put`` is None for a dry run (validation)."""

    bucket: str
    prefix: str
    region: str
    put: Callable[[str, bytes], None] | None = None
    keys: list[str] = field(default_factory=list)

    def store(self, data: bytes, suffix: str) -> str:
        key = f"{self.prefix}/{hashlib.md5(data).hexdigest()}{suffix}"
        if self.put is not None and key not in self.keys:
            self.put(key, data)
        if key not in self.keys:
            self.keys.append(key)
        return key

    def url(self, key: str) -> str:
        return f"https://s3.{self.region}.amazonaws.com/{self.bucket}/{key}"


def layer_zip(folder: Path) -> bytes:
    """A layer's Content given as a local folder, as ``aws cloudformation package`` zips it; a
    folder holding a ``requirements.txt`` is instead built from the Python distributions it
    names, as installed here (:func:`sqslab.deploy.code_zip.zip_distributions`), for either target.
    (With AWS's own tools the folder is filled first: ``pip install -r requirements.txt -t
    python/``, then ``aws cloudformation package``.)"""
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        return zip_distributions(requirements.read_text(encoding="utf-8").splitlines())
    return zip_directory(folder)


def package(path: str | Path, artifacts: Artifacts, seen: list | None = None) -> tuple[dict, list[tuple[Path, dict]]]:
    """Package a template; returns it and every (path, packaged template) including nested ones."""
    path = Path(path).resolve()
    doc = load_template(path)
    seen = [] if seen is None else seen
    for res in (doc.get("Resources") or {}).values():
        props = res.get("Properties") or {}
        rtype = res.get("Type")
        if rtype == "AWS::Lambda::Function" and isinstance(props.get("Code"), str):
            code_dir = (path.parent / props["Code"]).resolve()
            key = artifacts.store(zip_directory(code_dir), ".zip")
            props["Code"] = {"S3Bucket": artifacts.bucket, "S3Key": key}
        elif rtype == "AWS::Lambda::LayerVersion" and isinstance(props.get("Content"), str):
            key = artifacts.store(layer_zip((path.parent / props["Content"]).resolve()), ".zip")
            props["Content"] = {"S3Bucket": artifacts.bucket, "S3Key": key}
        elif rtype == "AWS::CloudFormation::Stack" and isinstance(props.get("TemplateURL"), str) and not re.match(
            r"https?://", props["TemplateURL"]
        ):
            child, _ = package(path.parent / props["TemplateURL"], artifacts, seen)
            key = artifacts.store(render(child).encode(), ".template")
            props["TemplateURL"] = artifacts.url(key)
    seen.append((path, doc))
    return doc, seen


def render(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True)


# ------------------------------------------------------------------ validation


def lint(docs: list[tuple[Path, dict]], region: str) -> tuple[list[str], list[str]]:
    """cfn-lint every packaged template: (errors, warnings) as readable lines."""
    errors, warnings = [], []
    for path, doc in docs:
        shown = _short(path)
        for rule, message in _lint_text(render(doc), region):
            (errors if rule.startswith("E") else warnings).append(f"{shown}: {rule} {message}")
    return errors, warnings


@functools.lru_cache(maxsize=64)
def _lint_text(text: str, region: str) -> tuple[tuple[str, str], ...]:
    """cfn-lint's findings for one template text. The same text is linted once per process, and
    once per cfn-lint version on this machine: the findings are kept in the user's cache folder
    (a notebook's deploy, which finds the stack unchanged, then skips cfn-lint's second of start-up)."""
    from importlib.metadata import version

    key = hashlib.sha256(f"{version('cfn-lint')}\n{region}\n{text}".encode()).hexdigest()
    cached = _lint_cache_dir() / f"{key}.json"
    try:
        return tuple((rule, message) for rule, message in json.loads(cached.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    found = tuple((m.rule.id, m.message) for m in cfn_lint(text, config=ManualArgs(regions=[region])))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(found), encoding="utf-8")
        partial.replace(cached)  # whole or not at all, even with two deploys at once
    except OSError:
        pass  # a read-only home: lint again next time
    return found


def _lint_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sqslab" / "cfn-lint"


def _short(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass
class Validation:
    template: Path
    parameters: dict[str, str]
    warnings: list[str]
    lint_warnings: list[str]


def validate(template: str | Path = DEFAULT_TEMPLATE, params: dict | None = None, region: str = "us-east-1") -> Validation:
    """Check parameters and cfn-lint the packaged template(s); nothing is created.
    ``template`` is a path or a word of :data:`sqslab.config.TEMPLATES`."""
    template = resolve_template(template)
    doc = load_template(template)
    values, warnings = check_stack_parameters(doc, params)
    _, docs = package(template, Artifacts(PLACEHOLDER_BUCKET, "validate", region))
    errors, lint_warnings = lint(docs, region)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DeployError(f"the template fails cfn-lint: {errors[0]}{more}", errors)
    return Validation(template, values, warnings, lint_warnings)


# ------------------------------------------------------------------ names


@dataclass(frozen=True)
class PlannedName:
    """A physical name the template gives a resource, and the parameters it is made from."""

    resource_type: str
    logical_id: str
    name: str
    parameters: tuple[str, ...]


_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def _resolve(value, context: dict[str, str], used: set[str], declared: set[str]) -> str | None:
    """A template value as a string where it depends only on parameters and pseudo
    parameters (Ref, Fn::Sub, Fn::Join); None where it needs anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    (fn, arg), = value.items()
    if fn == "Ref" and isinstance(arg, str):
        if arg in declared:
            used.add(arg)
        return context.get(arg)
    if fn == "Fn::Sub":
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] if len(arg) > 1 else {})
        local = {k: _resolve(v, context, used, declared) for k, v in (extra or {}).items()}
        missing = False

        def var(match):
            nonlocal missing
            key = match.group(1)
            if key in local:
                found = local[key]
            else:
                if key in declared:
                    used.add(key)
                found = context.get(key)
            if found is None:
                missing = True
                return ""
            return found

        out = _SUB_VAR.sub(var, text).replace("${!", "${")
        return None if missing else out
    if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
        parts = [_resolve(p, context, used, declared) for p in arg[1]]
        return None if any(p is None for p in parts) else str(arg[0]).join(parts)
    return None


def resource_paths(template: str | Path) -> dict[str, str]:
    """Every resource of the template and of its nested templates: ``{logical path: type}``,
    a nested one as ``Outer/Inner`` (the logical ids :func:`planned_names` uses)."""
    path = Path(template).resolve()
    found: dict[str, str] = {}
    for logical_id, res in (load_template(path).get("Resources") or {}).items():
        rtype = str(res.get("Type", ""))
        found[logical_id] = rtype
        url = (res.get("Properties") or {}).get("TemplateURL")
        if rtype == "AWS::CloudFormation::Stack" and isinstance(url, str) and not re.match(r"https?://", url):
            found |= {f"{logical_id}/{inner}": t for inner, t in resource_paths(path.parent / url).items()}
    return found


def planned_names(template: str | Path, parameters: dict[str, str], stack_name: str,
                  region: str, account: str) -> list[PlannedName]:
    """Every physical name the template (and its nested templates) gives a resource.

    A resource is named when it sets ``<Kind>Name`` for its type ``AWS::Service::Kind``
    (QueueName, FunctionName, LogGroupName, RoleName, BucketName, ...); names that
    need anything but parameters and pseudo parameters to resolve are left out.
    """
    path = Path(template).resolve()
    doc = load_template(path)
    declared = set(doc.get("Parameters") or {})
    context = {**parameters, "AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": account,
               "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    found: list[PlannedName] = []
    for logical_id, res in (doc.get("Resources") or {}).items():
        rtype = str(res.get("Type", ""))
        props = res.get("Properties") or {}
        key = rtype.rsplit("::", 1)[-1] + "Name"
        if key in props:
            used: set[str] = set()
            name = _resolve(props[key], context, used, declared)
            if name:
                found.append(PlannedName(rtype, logical_id, name, tuple(sorted(used))))
        url = props.get("TemplateURL")
        if rtype == "AWS::CloudFormation::Stack" and isinstance(url, str) and not re.match(r"https?://", url):
            child_params: dict[str, str] = {}
            child_used: dict[str, set[str]] = {}
            for pname, pvalue in (props.get("Parameters") or {}).items():
                used = set()
                resolved = _resolve(pvalue, context, used, declared)
                if resolved is not None:
                    child_params[pname], child_used[pname] = resolved, used
            # A nested stack's own name is generated, so AWS::StackName stays unknown there.
            for child in planned_names(path.parent / url, child_params, "", region, account):
                if "${AWS::StackName}" in str(child.name) or not child.name:
                    continue
                outer = set().union(*(child_used.get(p, set()) for p in child.parameters)) if child.parameters else set()
                found.append(PlannedName(child.resource_type, f"{logical_id}/{child.logical_id}", child.name,
                                         tuple(sorted(outer))))
    return found


def excerpt(logical_id: str, template: str | Path = DEFAULT_TEMPLATE) -> str:
    """The YAML text of one resource, as written in the template file (a path or a word of
    :data:`sqslab.config.TEMPLATES`)."""
    template = resolve_template(template)
    lines = template.read_text().splitlines()
    start = next((i for i, ln in enumerate(lines) if ln == f"  {logical_id}:"), None)
    if start is None:
        raise SqslabError(f"no resource {logical_id!r} in {template}")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    return "\n".join(lines[start:end]).rstrip()


def resolve_template(name: str | Path | None) -> Path:
    """``--template``: a path, or one of the words in :data:`sqslab.config.TEMPLATES`
    (``single``, ``nested``, ``retries``); None is the article's template."""
    if name is None:
        return DEFAULT_TEMPLATE
    if isinstance(name, str) and name in TEMPLATES:
        return TEMPLATES[name]
    return checks.template_path(name)
