"""Deploy, read and tear down the article's stack on a target, offline or on AWS.

The same calls serve both targets; only :mod:`sqslab.target` differs. Template
work with no AWS call (reading, parameters, packaging, cfn-lint) is in
:mod:`sqslab.deploy.template`.

- *deploy*: create, or update when the stack exists, or nothing when the
  packaged template and parameters are unchanged. Names another sqslab stack
  owns are refused before anything is created. A failed deploy is summarised
  from the stack events and leaves nothing half there: a failed create is
  deleted with its artifacts, a failed update is rolled back by CloudFormation.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sqslab import target as targets
from sqslab.base.errors import DeployError, SqslabError
from sqslab.base.names import names_match
from sqslab.base.progress import stream as progress_stream
from sqslab.config import DEFAULT_STACK
from sqslab.deploy import checks, scratch
from sqslab.deploy.template import (
    DEFAULT_TEMPLATE,
    Artifacts,
    PlannedName,
    check_stack_parameters,
    load_template,
    package,
    planned_names,
    render,
    resolve_template,
    resource_paths,
    validate,
)

STACK_TAGS = [{"Key": "project", "Value": "sqslab"}]
BUCKET_TAG = {"Key": "sqslab:artifact-bucket", "Value": "created-by-sqslab"}


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
            if res["ResourceType"] == planned.resource_type and names_match(res.get("PhysicalResourceId"), planned.name):
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


# Resource types that hold data an update could lose: a queue's messages, a log group's
# events, a bucket's objects, a table's items.
HOLDS_DATA = {"AWS::SQS::Queue": "queue", "AWS::Logs::LogGroup": "log group", "AWS::S3::Bucket": "bucket",
              "AWS::DynamoDB::Table": "table"}


def refuse_losing_data(cfn, template: Path, parameters: dict[str, str], stack_name: str,
                       region: str, account: str) -> None:
    """One line, before an update, when it would delete or replace something of the stack that
    holds data: a resource the new template drops (CloudFormation deletes it), or one it gives
    another name (a name change is an update that "requires: Replacement", e.g. QueueName)."""
    paths = resource_paths(template)
    planned = {p.logical_id: p.name for p in planned_names(template, parameters, stack_name, region, account)}
    lost = []
    for logical, rtype, physical in stack_tree(cfn, stack_name):
        if rtype not in HOLDS_DATA:
            continue
        renamed = logical in planned and not names_match(physical, planned[logical])
        if paths.get(logical) != rtype or renamed:
            lost.append((rtype, physical.rsplit("/", 1)[-1]))
    if not lost:
        return
    rtype, name = lost[0]
    more = f" (and {len(lost) - 1} more that hold data)" if len(lost) > 1 else ""
    raise SqslabError(f"this deploy would delete or replace stack {stack_name}'s {HOLDS_DATA[rtype]} {name}{more}, "
                      f"and what it holds: deploy {_shown(template)} under another --stack-name, "
                      f"or tear {stack_name} down first (sqslab teardown --stack-name {stack_name})")


def _shown(template: Path) -> str:
    from sqslab.config import ROOT, TEMPLATES

    for word, path in TEMPLATES.items():
        if Path(path).resolve() == Path(template).resolve():
            return f"--template {word}"
    try:
        return str(Path(template).resolve().relative_to(ROOT))
    except ValueError:
        return str(template)


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


def default_bucket_name(account: str, region: str) -> str:
    """The artifact bucket sqslab makes when none is given: one per account and region."""
    return f"sqslab-artifacts-{account}-{region}"


def artifact_bucket_name(tgt, given: str | None = None) -> str:
    return given or default_bucket_name(_account_id(tgt), tgt.region)


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


def refuse_nested(cfn, found: dict | None, doing: str) -> None:
    """One line if ``found`` (a DescribeStacks entry) is a nested stack: its top-level stack owns it,
    and changing it directly would leave that stack describing resources it no longer has."""
    if not found or not found.get("ParentId"):
        return
    root = found.get("RootId") or found["ParentId"]
    top = describe(cfn, root)
    name = top["StackName"] if top else root
    raise SqslabError(f"stack {found['StackName']} is nested in stack {name}, which owns it: {doing} {name} "
                      "instead")


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


@dataclass
class Prepared:
    """A stack ready for ``create_stack`` or ``update_stack``: its code packaged into the artifact
    bucket (what ``aws cloudformation package`` does), its parameters checked, and no name it plans
    held by another stack. ``template_body``, ``parameters`` and ``tags`` are the call's arguments
    (``request``: all of them); ``exists`` says which call, ``changed`` whether an update would
    change anything (CloudFormation refuses an update that changes nothing)."""

    stack_name: str
    template_body: str
    parameters: list[dict]
    tags: list[dict]
    exists: bool
    changed: bool
    status: str | None
    warnings: list[str]
    bucket: str
    artifact_keys: list[str]
    created_bucket: bool

    @property
    def request(self) -> dict:
        return dict(StackName=self.stack_name, TemplateBody=self.template_body, Parameters=self.parameters,
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"], Tags=self.tags)


def prepare(template: str | Path, stack_name: str, params: dict | None, target, bucket: str | None = None,
            progress: bool = True) -> Prepared:
    """Everything :func:`deploy` does before its create or update call: the checks, the collision
    checks, packaging. A stack left failed by an earlier create is deleted first."""
    template, stack_name, bucket = check_deploy_inputs(template, stack_name, params, bucket)
    tgt = targets.resolve(target)
    checked = validate(template, params, tgt.region)
    warnings = checked.warnings + [f"cfn-lint: {w}" for w in checked.lint_warnings]
    cfn, s3 = targets.client("cloudformation", tgt), targets.client("s3", tgt)

    existing = describe(cfn, stack_name)
    refuse_nested(cfn, existing, "deploy to")
    if existing and existing["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"):
        cfn.delete_stack(StackName=stack_name)
        wait(cfn, stack_name, progress)
        existing = None
    if existing and not _terminal(existing["StackStatus"]):
        raise SqslabError(f"stack {stack_name} is {existing['StackStatus']}: wait for it to finish, then deploy again")
    account = _account_id(tgt)
    refuse_taken_names(cfn, Path(template), checked.parameters, stack_name, tgt.region, account)
    if existing:
        refuse_losing_data(cfn, Path(template), checked.parameters, stack_name, tgt.region, account)

    bucket_name = bucket or default_bucket_name(account, tgt.region)
    created_bucket = ensure_bucket(s3, bucket_name, tgt.region, create=bucket is None)
    artifacts = Artifacts(
        bucket_name, stack_name, tgt.region, put=lambda key, data: s3.put_object(Bucket=bucket_name, Key=key, Body=data)
    )
    doc, _ = package(template, artifacts)
    body = render(doc)
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in checked.parameters.items()]
    changed = True
    if existing:
        current_params = {p["ParameterKey"]: p["ParameterValue"] for p in existing.get("Parameters", [])}
        current_body = cfn.get_template(StackName=stack_name)["TemplateBody"]
        if isinstance(current_body, dict):
            current_body = render(current_body)
        changed = not (current_params == checked.parameters and _same_template(current_body, body))
    return Prepared(stack_name, body, parameters, list(STACK_TAGS), existing is not None, changed,
                    existing["StackStatus"] if existing else None, warnings, bucket_name, list(artifacts.keys),
                    created_bucket)


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
    tgt = targets.resolve(target)
    ready = prepare(template, stack_name, params, tgt, bucket, progress)
    stack_name, bucket_name = ready.stack_name, ready.bucket
    cfn, s3 = targets.client("cloudformation", tgt), targets.client("s3", tgt)

    if ready.exists:
        if not ready.changed:
            return DeployResult(stack_name, "unchanged", ready.status, outputs_of(describe(cfn, stack_name)),
                                time.monotonic() - t0, ready.warnings, bucket_name)
        try:
            cfn.update_stack(**ready.request)
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" in str(exc):
                return DeployResult(stack_name, "unchanged", ready.status, outputs_of(describe(cfn, stack_name)),
                                    time.monotonic() - t0, ready.warnings, bucket_name)
            raise DeployError(f"update of {stack_name} was refused: {_client_message(exc)}") from None
        action = "updated"
    else:
        try:
            cfn.create_stack(**ready.request)
        except Exception as exc:  # moto raises some template errors inside the call
            _undo_create(cfn, s3, stack_name, bucket_name, ready.artifact_keys, ready.created_bucket, progress)
            raise DeployError(
                f"create of {stack_name} failed: {_client_message(exc)}; nothing was left deployed"
            ) from None
        action = "created"

    status = wait(cfn, stack_name, progress)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        lines = failure_summary(cfn, stack_name) or [f"stack ended {status}"]
        if action == "created":
            _undo_create(cfn, s3, stack_name, bucket_name, ready.artifact_keys, ready.created_bucket, progress)
            tail = "the stack and its artifacts were deleted"
        else:
            tail = f"CloudFormation rolled the stack back to its previous state ({status})"
        raise DeployError(f"deploy of {stack_name} failed: {lines[0]}; {tail}", lines + [tail])
    final = describe(cfn, stack_name)
    return DeployResult(stack_name, action, status, outputs_of(final), time.monotonic() - t0,
                        ready.warnings, bucket_name)


def check_deploy_inputs(template, stack_name, params, bucket) -> tuple[Path, str, str | None]:
    """What a deploy is given, checked before any target is resolved or started:
    (template path, stack name, bucket). ``template`` is a path or a word of
    :data:`sqslab.config.TEMPLATES`. Raises SqslabError, one line."""
    stack_name, bucket = checks.stack_name(stack_name), checks.bucket_name(bucket)
    template = resolve_template(template)
    check_stack_parameters(load_template(template), params)
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


def stack_tree(cfn, stack_name: str) -> list[tuple[str, str, str]]:
    """(logical path, type, physical id) of everything the stack holds, its nested stacks'
    too (a nested one's path as ``Outer/Inner``, as :func:`sqslab.deploy.template.resource_paths`)."""
    held, todo = [], [("", stack_name)]
    while todo:
        outer, sid = todo.pop()
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=sid):
            for res in page["StackResourceSummaries"]:
                if not res.get("PhysicalResourceId") or res.get("ResourceStatus", "").startswith("DELETE"):
                    continue
                logical = f"{outer}{res['LogicalResourceId']}"
                if res["ResourceType"] == "AWS::CloudFormation::Stack":
                    todo.append((f"{logical}/", res["PhysicalResourceId"]))
                else:
                    held.append((logical, res["ResourceType"], res["PhysicalResourceId"]))
    return held


def held_resources(cfn, stack_name: str) -> list[tuple[str, str]]:
    """(resource type, physical id) of everything the stack holds, its nested stacks' too."""
    return [(rtype, physical) for _, rtype, physical in stack_tree(cfn, stack_name)]


def teardown(stack_name: str = DEFAULT_STACK, target=None, bucket: str | None = None, progress: bool = True) -> dict:
    """Delete the stack (its report lists what it held), the scratch queues experiments left
    beside it (:mod:`sqslab.deploy.scratch`), its artifacts, and the artifact bucket if sqslab created it."""
    stack_name, bucket = checks.stack_name(stack_name), checks.bucket_name(bucket)
    tgt = targets.resolve(target)
    cfn, s3 = targets.client("cloudformation", tgt), targets.client("s3", tgt)
    report = {"stack": stack_name, "stack_deleted": False, "resources": [], "scratch_queues_deleted": 0,
              "scratch_mappings_deleted": 0, "scratch_functions_deleted": 0, "artifacts_deleted": 0,
              "bucket_deleted": False, "objects_deleted": 0}
    found = describe(cfn, stack_name)
    refuse_nested(cfn, found, "tear down")
    report["scratch_mappings_deleted"] = scratch.delete_mappings(targets.client("lambda", tgt), stack_name)
    report["scratch_queues_deleted"] = scratch.delete_queues(targets.client("sqs", tgt), stack_name)
    report["scratch_functions_deleted"] = scratch.delete_functions(targets.client("lambda", tgt),
                                                                   targets.client("logs", tgt), stack_name)
    if found:
        report["resources"] = held_resources(cfn, stack_name)
        # CloudFormation deletes no bucket that holds objects: the stack's own buckets are emptied first
        report["objects_deleted"] = sum(empty_bucket(s3, physical_id) for rtype, physical_id in report["resources"]
                                        if rtype == "AWS::S3::Bucket")
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


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object of ``bucket`` (every version, where versioning kept some); returns how many."""
    deleted = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
                deleted += 1
    except s3.exceptions.NoSuchBucket:
        return deleted
    return deleted


def _bucket_is_ours(s3, bucket: str) -> bool:
    try:
        tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except s3.exceptions.ClientError:
        return False
    return BUCKET_TAG in tags
