"""Validate, package, deploy, read and tear down the article's stack, offline or on AWS.

The same calls serve both targets; only :mod:`sqslab.target` differs.

- *validate*: parameters checked against the template's own constraints, then
  cfn-lint on the packaged template (and every nested one); problems are
  reported before anything is created.
- *package*: like ``aws cloudformation package``: a Lambda ``Code`` given as a
  local path becomes a zip in the artifact bucket (``S3Bucket``/``S3Key``,
  named by content hash, so unchanged code gives an unchanged template), and a
  nested stack's local ``TemplateURL`` is packaged and uploaded the same way.
- *deploy*: create, or update when the stack exists, or nothing when the
  packaged template and parameters are unchanged. A failed deploy is summarised
  from the stack events and leaves nothing half there: a failed create is
  deleted with its artifacts, a failed update is rolled back by CloudFormation.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sqslab import checks
from sqslab import target as targets
from sqslab.errors import SqslabError
from sqslab.progress import stream as progress_stream

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
NESTED_TEMPLATE = ROOT / "infra" / "nested" / "template.yaml"
DEFAULT_STACK = "sqslab"
STACK_TAGS = [{"Key": "project", "Value": "sqslab"}]
BUCKET_TAG = {"Key": "sqslab:artifact-bucket", "Value": "created-by-sqslab"}
PLACEHOLDER_BUCKET = "sqslab-artifacts-placeholder"


class DeployError(SqslabError):
    """A deploy that failed; ``details`` holds every line, ``str()`` the first."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or [message]


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
    path = checks.template_path(path)
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


def check_parameters(doc: dict, given: dict[str, object] | None) -> tuple[dict[str, str], list[str]]:
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


def zip_directory(path: Path) -> bytes:
    """A deterministic zip of a directory (sorted names, fixed timestamps)."""
    if not path.is_dir():
        raise SqslabError(f"function code directory not found: {path}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = file.relative_to(path).as_posix()
            if "__pycache__" in rel or rel.endswith(".pyc"):
                continue
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, file.read_bytes())
    return buf.getvalue()


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
    """cfn-lint's findings for one template text (the same text is linted once per process)."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    return tuple((m.rule.id, m.message) for m in cfn_lint(text, config=ManualArgs(regions=[region])))


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
    """Check parameters and cfn-lint the packaged template(s); nothing is created."""
    template = checks.template_path(template)
    doc = load_template(template)
    values, warnings = check_parameters(doc, params)
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


def _names_match(physical_id: str, name: str) -> bool:
    physical_id = str(physical_id or "")
    return physical_id == name or physical_id.endswith(("/" + name, ":" + name))


def _tagged(stack: dict) -> bool:
    return any(t in stack.get("Tags", []) for t in STACK_TAGS)


def name_owners(cfn, names: list[PlannedName], stack_name: str) -> list[tuple[PlannedName, str]]:
    """(name, owning stack) for each planned name that another sqslab stack already holds.

    The stacks looked at are those sqslab deploys (tagged ``project=sqslab``) and the
    stacks nested in them; the owner named is the top-level stack. Any other owner is
    refused by CloudFormation itself when the resource is created (AlreadyExists).
    """
    live = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        live += [s for s in page["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
    by_ref = {s["StackId"]: s for s in live} | {s["StackName"]: s for s in live}
    parent: dict[str, str] = {}
    held: list[tuple[str, dict]] = []  # (stack id, resource summary)
    todo = [s["StackId"] for s in live if _tagged(s) and not s.get("ParentId")]
    seen: set[str] = set()
    while todo:
        sid = todo.pop()
        if sid in seen:
            continue
        seen.add(sid)
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=sid):
            for res in page["StackResourceSummaries"]:
                if res.get("ResourceStatus", "").startswith("DELETE"):
                    continue
                child = by_ref.get(res.get("PhysicalResourceId", ""))
                if res["ResourceType"] == "AWS::CloudFormation::Stack" and child is not None:
                    parent[child["StackId"]] = sid
                    todo.append(child["StackId"])
                else:
                    held.append((sid, res))

    def root(sid: str) -> str:
        while sid in parent:
            sid = parent[sid]
        return by_ref[sid]["StackName"] if sid in by_ref else sid

    clashes = []
    for planned in names:
        for sid, res in held:
            if res["ResourceType"] == planned.resource_type and _names_match(res.get("PhysicalResourceId"), planned.name):
                owner = root(sid)
                if owner != stack_name:
                    clashes.append((planned, owner))
                break
    return clashes


def refuse_taken_names(cfn, template: Path, parameters: dict[str, str], stack_name: str,
                       region: str, account: str) -> None:
    """One line, before anything is created, when another stack owns a name this deploy needs."""
    names = planned_names(template, parameters, stack_name, region, account)
    clashes = name_owners(cfn, names, stack_name)
    if not clashes:
        return
    planned, owner = clashes[0]
    more = f" (and {len(clashes) - 1} more of this template's names)" if len(clashes) > 1 else ""
    fix = f"tear it down first (sqslab teardown --stack-name {owner})"
    if planned.parameters:
        shown = " and ".join(f"{p} {parameters.get(p)!r}" for p in planned.parameters)
        choose = " or ".join(f"--param {p}=..." for p in planned.parameters)
        raise SqslabError(f"{shown} is taken: stack {owner} already owns {planned.name}{more}; "
                          f"deploy {stack_name} with another {choose}, or {fix}")
    raise SqslabError(f"stack {owner} already owns {planned.name}{more}, a name fixed in the template: {fix}")


# ------------------------------------------------------------------ deploy


@dataclass
class DeployResult:
    stack_name: str
    action: str  # created | updated | unchanged
    status: str
    outputs: dict[str, str]
    seconds: float
    warnings: list[str]
    bucket: str


def _account_id(tgt) -> str:
    return targets.client("sts", tgt).get_caller_identity()["Account"]


def artifact_bucket_name(tgt, given: str | None = None) -> str:
    return given or f"sqslab-artifacts-{_account_id(tgt)}-{tgt.region}"


def ensure_bucket(s3, bucket: str, region: str, create: bool) -> bool:
    """Make sure the artifact bucket exists; True if this call created it."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except s3.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise SqslabError(f"artifact bucket {bucket} is not usable ({code}): give another with --bucket") from None
    if not create:
        raise SqslabError(f"artifact bucket {bucket} does not exist: create it or leave --bucket out")
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [BUCKET_TAG, *STACK_TAGS]})
    return True


def describe(cfn, stack_name: str) -> dict | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except cfn.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def _terminal(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def wait(cfn, stack_name: str, progress: bool = True, timeout: float = 1800.0) -> str:
    """Wait for the stack to settle, showing its status; returns the final status."""
    from tqdm import tqdm

    t0 = time.monotonic()
    bar = tqdm(total=None, desc=stack_name, bar_format="{desc} [{elapsed}]", disable=not progress,
               file=progress_stream())
    try:
        while True:
            stack = describe(cfn, stack_name)
            status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
            bar.set_description_str(f"{stack_name}: {status}")
            if _terminal(status):
                return status
            if time.monotonic() - t0 > timeout:
                raise SqslabError(f"stack {stack_name} still {status} after {timeout:.0f} s: check the console")
            time.sleep(0.5 if stack else 0.2)
            bar.update(0)
    finally:
        bar.close()


_EMBEDDED = re.compile(r"Embedded stack (arn:\S+) was not successfully created")


def failure_summary(cfn, stack_name: str, since: float | None = None, _depth: int = 0) -> list[str]:
    """Plain-words lines for each resource that failed, oldest first; a nested stack
    that failed is followed into, so the line names the resource at the root of it."""
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except cfn.exceptions.ClientError:
        return []
    lines = []
    for ev in reversed(events):
        if not ev.get("ResourceStatus", "").endswith("_FAILED"):
            continue
        if ev.get("LogicalResourceId") == stack_name or ev.get("PhysicalResourceId") == stack_name:
            continue
        reason = ev.get("ResourceStatusReason") or "no reason given"
        if "Resource creation cancelled" in reason:
            continue
        embedded = _EMBEDDED.search(reason)
        inner = failure_summary(cfn, embedded.group(1), _depth=_depth + 1) if embedded and _depth < 5 else []
        if inner:
            lines += [f"{ev['LogicalResourceId']}/{line}" for line in inner]
        else:
            lines.append(f"{ev['LogicalResourceId']} ({ev.get('ResourceType')}) failed: {reason}")
    return lines


def deploy(
    template: str | Path = DEFAULT_TEMPLATE,
    stack_name: str = DEFAULT_STACK,
    params: dict | None = None,
    target=None,
    bucket: str | None = None,
    progress: bool = True,
) -> DeployResult:
    """Deploy the stack: create, update, or nothing when unchanged."""
    t0 = time.monotonic()
    template, stack_name, bucket = check_deploy_inputs(template, stack_name, params, bucket)
    tgt = targets.resolve(target)
    checked = validate(template, params, tgt.region)
    warnings = checked.warnings + [f"cfn-lint: {w}" for w in checked.lint_warnings]
    cfn, s3 = targets.client("cloudformation", tgt), targets.client("s3", tgt)

    existing = describe(cfn, stack_name)
    if existing and existing["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"):
        cfn.delete_stack(StackName=stack_name)
        wait(cfn, stack_name, progress)
        existing = None
    if existing and not _terminal(existing["StackStatus"]):
        raise SqslabError(f"stack {stack_name} is {existing['StackStatus']}: wait for it to finish, then deploy again")
    account = _account_id(tgt)
    refuse_taken_names(cfn, Path(template), checked.parameters, stack_name, tgt.region, account)

    bucket_name = bucket or f"sqslab-artifacts-{account}-{tgt.region}"
    created_bucket = ensure_bucket(s3, bucket_name, tgt.region, create=bucket is None)
    artifacts = Artifacts(
        bucket_name, stack_name, tgt.region, put=lambda key, data: s3.put_object(Bucket=bucket_name, Key=key, Body=data)
    )
    doc, _ = package(template, artifacts)
    body = render(doc)
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in checked.parameters.items()]
    common = dict(StackName=stack_name, TemplateBody=body, Parameters=parameters,
                  Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"], Tags=STACK_TAGS)

    if existing:
        current_params = {p["ParameterKey"]: p["ParameterValue"] for p in existing.get("Parameters", [])}
        current_body = cfn.get_template(StackName=stack_name)["TemplateBody"]
        if isinstance(current_body, dict):
            current_body = render(current_body)
        if current_params == checked.parameters and _same_template(current_body, body):
            return DeployResult(stack_name, "unchanged", existing["StackStatus"], outputs_of(existing),
                                time.monotonic() - t0, warnings, bucket_name)
        try:
            cfn.update_stack(**common)
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" in str(exc):
                return DeployResult(stack_name, "unchanged", existing["StackStatus"], outputs_of(existing),
                                    time.monotonic() - t0, warnings, bucket_name)
            raise DeployError(f"update of {stack_name} was refused: {_client_message(exc)}") from None
        action = "updated"
    else:
        try:
            cfn.create_stack(**common)
        except Exception as exc:  # moto raises some template errors inside the call
            _undo_create(cfn, s3, stack_name, bucket_name, artifacts.keys, created_bucket, progress)
            raise DeployError(
                f"create of {stack_name} failed: {_client_message(exc)}; nothing was left deployed"
            ) from None
        action = "created"

    status = wait(cfn, stack_name, progress)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        lines = failure_summary(cfn, stack_name) or [f"stack ended {status}"]
        if action == "created":
            _undo_create(cfn, s3, stack_name, bucket_name, artifacts.keys, created_bucket, progress)
            tail = "the stack and its artifacts were deleted"
        else:
            tail = f"CloudFormation rolled the stack back to its previous state ({status})"
        raise DeployError(f"deploy of {stack_name} failed: {lines[0]}; {tail}", lines + [tail])
    final = describe(cfn, stack_name)
    return DeployResult(stack_name, action, status, outputs_of(final), time.monotonic() - t0,
                        warnings, bucket_name)


def check_deploy_inputs(template, stack_name, params, bucket) -> tuple[Path, str, str | None]:
    """What a deploy is given, checked before any target is resolved or started:
    (template path, stack name, bucket). Raises SqslabError, one line."""
    stack_name, bucket = checks.stack_name(stack_name), checks.bucket_name(bucket)
    template = checks.template_path(template)
    check_parameters(load_template(template), params)
    return template, stack_name, bucket


def _same_template(a: str, b: str) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return a == b


def _client_message(exc: Exception) -> str:
    resp = getattr(exc, "response", None)
    if resp:
        return resp.get("Error", {}).get("Message") or str(exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _undo_create(cfn, s3, stack_name, bucket, keys, created_bucket, progress) -> None:
    if describe(cfn, stack_name):
        cfn.delete_stack(StackName=stack_name)
        wait(cfn, stack_name, progress)
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    if created_bucket:
        _delete_bucket_if_empty(s3, bucket)


def _delete_bucket_if_empty(s3, bucket: str) -> bool:
    if s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0:
        s3.delete_bucket(Bucket=bucket)
        return True
    return False


def outputs_of(stack: dict | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


def outputs(stack_name: str = DEFAULT_STACK, target=None) -> dict[str, str]:
    """The stack's Outputs; a clear line when it is not deployed."""
    stack_name = checks.stack_name(stack_name)
    tgt = targets.resolve(target)
    stack = describe(targets.client("cloudformation", tgt), stack_name)
    if stack is None:
        where = "offline" if tgt.offline else f"in {tgt.region}"
        raise SqslabError(f"stack {stack_name} is not deployed {where}: run `sqslab deploy` first")
    return outputs_of(stack)


def teardown(stack_name: str = DEFAULT_STACK, target=None, bucket: str | None = None, progress: bool = True) -> dict:
    """Delete the stack, its artifacts, and the artifact bucket if sqslab created it."""
    stack_name, bucket = checks.stack_name(stack_name), checks.bucket_name(bucket)
    tgt = targets.resolve(target)
    cfn, s3 = targets.client("cloudformation", tgt), targets.client("s3", tgt)
    report = {"stack": stack_name, "stack_deleted": False, "artifacts_deleted": 0, "bucket_deleted": False}
    if describe(cfn, stack_name):
        cfn.delete_stack(StackName=stack_name)
        status = wait(cfn, stack_name, progress)
        if status != "DELETE_COMPLETE":
            lines = failure_summary(cfn, stack_name)
            raise DeployError(f"teardown of {stack_name} ended {status}: {lines[0] if lines else 'see the console'}", lines)
        report["stack_deleted"] = True
    bucket_name = artifact_bucket_name(tgt, bucket)
    try:
        s3.head_bucket(Bucket=bucket_name)
    except s3.exceptions.ClientError:
        return report
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket_name, Prefix=f"{stack_name}/"):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
            report["artifacts_deleted"] += 1
    if bucket is None and _bucket_is_ours(s3, bucket_name):
        report["bucket_deleted"] = _delete_bucket_if_empty(s3, bucket_name)
    return report


def _bucket_is_ours(s3, bucket: str) -> bool:
    try:
        tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except s3.exceptions.ClientError:
        return False
    return BUCKET_TAG in tags


def excerpt(logical_id: str, template: str | Path = DEFAULT_TEMPLATE) -> str:
    """The YAML text of one resource, as written in the template file."""
    lines = Path(template).read_text().splitlines()
    start = next((i for i, ln in enumerate(lines) if ln == f"  {logical_id}:"), None)
    if start is None:
        raise SqslabError(f"no resource {logical_id!r} in {template}")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    return "\n".join(lines[start:end]).rstrip()


def resolve_template(name: str | None) -> Path:
    """``--template``: a path, or the words ``single`` / ``nested``."""
    if name in (None, "single"):
        return DEFAULT_TEMPLATE
    if name == "nested":
        return NESTED_TEMPLATE
    return checks.template_path(name)
