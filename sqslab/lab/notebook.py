"""Small helpers the notebooks call, so their cells stay about the concept."""

from __future__ import annotations

import platform

from sqslab.config import (
    CHAPTER_STACKS,
    FIFO_BATCH_SIZE,
    FIFO_FUNCTION_TIMEOUT,
    FUNCTIONS,
    IDEMPOTENCY_FUNCTION_TIMEOUT,
    LAMBDAS,
    LIFETIME_RETENTION,
    PROFILES,
)
from sqslab.lab.handle import Lab


def chapter_stack_name(stack_name: str, template: str) -> str:
    """The stack of a chapter's template (:data:`~sqslab.config.CHAPTER_STACKS`) that goes with the
    article's stack ``stack_name``: ``("sqslab", "fifo")`` -> ``sqslab-fifo``; a name that already
    ends in ``-<template>`` is kept."""
    return stack_name if stack_name.endswith(f"-{template}") else f"{stack_name}-{template}"


def retries_stack_name(stack_name: str) -> str:
    """The retries stack that goes with the article's stack ``stack_name`` (chapters 05 and 06):
    ``sqslab`` -> ``sqslab-retries``; a name that already ends in ``-retries`` is kept."""
    return chapter_stack_name(stack_name, "retries")


def chapter_stack_names(stack_name: str) -> list[str]:
    """Every stack of the series beside the article's ``stack_name``, the chapters' first."""
    return [chapter_stack_name(stack_name, template) for template in CHAPTER_STACKS] + [stack_name]


# Per template: the profile's visibility timeout and the least a notebook may set. A mapped function's
# timeout may not be longer than its queue's visibility timeout (Lambda refuses the mapping): at least
# 1 s on the retries queue, the fifo consumer's 2 s on the FIFO queues.
_VISIBILITY = {"single": ("VisibilityTimeout", 0), "retries": ("RetriesVisibilityTimeout", 1),
               "fifo": ("FifoVisibilityTimeout", FIFO_FUNCTION_TIMEOUT),
               "idempotency": ("IdempotencyVisibilityTimeout", IDEMPOTENCY_FUNCTION_TIMEOUT)}


def check_notebook_parameters(target: str, stack_name: str, profile: str, visibility_timeout=None, wait=None,
                     template: str = "single", **extra) -> tuple[int, int]:
    """Check a notebook's parameters (as papermill or a reader set them) before anything runs;
    returns (visibility timeout, long-poll wait) in seconds, the profile's where not given.
    With ``template="retries"`` the visibility timeout is the retries queue's.

    Each problem stops the notebook with one line: from here on, an error sqslab raises
    shows as ``sqslab: ...`` without a traceback.
    """
    from sqslab.deploy import checks
    from sqslab.target import target_name

    _one_line_errors()
    target_name(target)
    checks.stack_name(stack_name)
    checks.choice("profile", profile, PROFILES)
    checks.choice("template", template, ("single", *CHAPTER_STACKS))
    chosen = PROFILES[profile]
    # SQS Developer Guide: visibility timeout 0 s to 12 hours; long-poll wait 0 to 20 s.
    if template != "single":
        checks.stack_name(chapter_stack_name(stack_name, template))
    if template in _VISIBILITY:
        key, least = _VISIBILITY[template]
        vt = checks.seconds("visibility_timeout", chosen[key] if visibility_timeout is None else visibility_timeout,
                            least, 43200, "SQS")
    else:
        vt = 0  # the stack's queues keep their template's visibility timeouts
    wt = checks.seconds("wait", chosen["ReceiveMessageWaitTimeSeconds"] if wait is None else wait, 0, 20, "SQS")
    for name, value in extra.items():
        if name == "source":
            checks.choice("source", value, ("live", "recorded"))
        elif value is not None:
            checks.seconds(name, value, 1, 3600, "this notebook")
    return vt, wt


def setup(target: str, stack_name: str, profile: str, visibility_timeout=None, wait=None, deploy: bool = False,
          template: str = "single", **extra) -> Lab:
    """A notebook's setup, in one call: its parameters checked (see :func:`check_notebook_parameters`),
    the offline emulator started if none is running (and its idle execution environments, left by
    earlier chapters, stopped: a learner holds one chapter's at a time), the stack deployed with these timings
    when ``deploy`` (nothing happens if it already is), and the versions in use shown.

    ``template="retries"``: the lab is the retries stack beside ``stack_name``
    (:func:`retries_stack_name`), with the profile's consumer timeout (never longer than the
    visibility timeout) and batching window."""
    from sqslab.target import start_offline

    vt, wt = check_notebook_parameters(target, stack_name, profile, visibility_timeout, wait, template, **extra)
    tgt = start_offline(target)
    if tgt.offline:  # the execution environments earlier chapters left idle stop: one chapter's at a time
        from sqslab.offline.server import control

        control.reclaim_idle()
    if template == "retries":
        chosen = PROFILES[profile]
        lab = Lab(retries_stack_name(stack_name), tgt, profile=profile, visibility_timeout=vt, wait=wt,
                  template="retries", function_timeout=max(1, min(chosen["ConsumerTimeout"], vt)),
                  batching_window=chosen["BatchingWindow"], send_every=chosen["SendEvery"])
    elif template in ("concurrency", "fanout"):
        lab = Lab(chapter_stack_name(stack_name, template), tgt, profile=profile, visibility_timeout=vt, wait=wt,
                  template=template)
    elif template == "lifetime":
        lab = Lab(chapter_stack_name(stack_name, template), tgt, profile=profile, visibility_timeout=vt, wait=wt,
                  template=template, delay_seconds=PROFILES[profile]["LifetimeDelay"])
    elif template == "idempotency":
        lab = Lab(chapter_stack_name(stack_name, template), tgt, profile=profile, visibility_timeout=vt, wait=wt,
                  template=template, function_timeout=IDEMPOTENCY_FUNCTION_TIMEOUT)
    elif template == "fifo":
        lab = Lab(chapter_stack_name(stack_name, template), tgt, profile=profile, visibility_timeout=vt, wait=wt,
                  template=template, function_timeout=FIFO_FUNCTION_TIMEOUT, batch_size=FIFO_BATCH_SIZE)
    else:
        lab = Lab(stack_name, tgt, profile=profile, visibility_timeout=vt, wait=wt)
    if deploy:
        ensure_stack(lab)
    show_versions(lab.target.name)
    return lab


def _one_line_errors() -> None:
    from IPython import get_ipython

    from sqslab.base.errors import SqslabError

    shell = get_ipython()
    if shell is None:
        return

    def show(shell, etype, value, tb, tb_offset=None):
        shell._showtraceback(etype, value, [f"sqslab: {value}"])

    shell.set_custom_exc((SqslabError,), show)


def versions(target_name: str) -> str:
    """The versions line; the emulator's moto is named from its installed metadata, not imported
    (the notebook's kernel never loads the emulator)."""
    from importlib.metadata import version

    import boto3

    import sqslab

    return (f"sqslab {sqslab.__version__} · target **{target_name}** · Python {platform.python_version()} · "
            f"boto3 {boto3.__version__} · moto {version('moto')} (offline emulator)")


def show_versions(target_name: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(versions(target_name)))


def prepare_stack(lab: Lab, **overrides):
    """Everything a deploy does before its CloudFormation call, for the lab's stack: the parameters
    checked, each function's folder zipped into the artifact bucket with the template pointed at it
    (what ``aws cloudformation package`` does), and no name the stack plans held by another stack.
    Returns a :class:`~sqslab.deploy.stack.Prepared`; 01 makes the create or update call itself."""
    from sqslab.deploy import stack

    params = lab.parameters(**overrides)
    prepared = stack.prepare(lab.template, stack_name=lab.name,
                             params=params, target=lab.target)
    lab.refresh()  # its outputs are read again once the stack is there
    for w in prepared.warnings:
        print("warning:", w)
    print(f"the functions' code packaged into s3://{prepared.bucket}/ ({len(prepared.artifact_keys)} zips); "
          + ("the stack exists: " + ("an update changes it" if prepared.changed else "nothing to update")
             if prepared.exists else "the stack does not exist yet"))
    return prepared


def ensure_stack(lab: Lab, progress: bool = True, **overrides) -> dict:
    """Deploy the lab's stack with its timings unless it is already there as asked; returns its outputs.
    ``overrides``: stack parameters to deploy with instead of the lab's (retries stack:
    ``ReportBatchItemFailures="false"``, say)."""
    from sqslab.deploy import stack

    params = lab.parameters(**overrides)
    result = stack.deploy(lab.template, stack_name=lab.name, params=params, target=lab.target, progress=progress)
    lab.refresh()
    if lab.template == "retries":
        restored = match_mapping(lab, params)
        print(f"stack {lab.name}: {result.action} ({result.status}), queue VisibilityTimeout {params['VisibilityTimeout']} s, "
              f"function timeout {params['FunctionTimeout']} s, BatchSize {params['BatchSize']}, batching window "
              f"{params['MaximumBatchingWindowInSeconds']} s, maxReceiveCount {params['MaxReceiveCount']}, "
              f"ReportBatchItemFailures {params['ReportBatchItemFailures']}")
        for line in restored:
            print("set back as the stack's parameters say:", line)
    elif lab.template == "concurrency":
        # a run that stopped half-way may have left the chapter's own changes: set back as the template has it
        lam = lab.client("lambda")
        lam.delete_function_concurrency(FunctionName=lab.consumer_name)
        if (lam.get_event_source_mapping(UUID=lab.mapping_id).get("ScalingConfig") or {}).get("MaximumConcurrency"):
            lam.update_event_source_mapping(UUID=lab.mapping_id, ScalingConfig={})
        print(f"stack {lab.name}: {result.action} ({result.status}), one message per batch, a dead-letter queue after "
              "one receive, the consumer's timeout and the queue's visibility timeout 3 s each")
    elif lab.template == "fanout":
        lam = lab.client("lambda")  # a run that stopped half-way may have left its filter on the mapping
        if lam.get_event_source_mapping(UUID=lab.mapping_id).get("FilterCriteria"):
            lam.update_event_source_mapping(UUID=lab.mapping_id, FilterCriteria={})
        print(f"stack {lab.name}: {result.action} ({result.status}), an orders queue polled by the consumer, a topic "
              "and three queues to fan out to")
    elif lab.template == "lifetime":
        print(f"stack {lab.name}: {result.action} ({result.status}), the delay queue's DelaySeconds "
              f"{params['DelaySeconds']} s, retention {LIFETIME_RETENTION} s on the retention queue and the trap's "
              f"dead-letter queue, 14 days on the fix's")
    elif lab.template == "idempotency":
        print(f"stack {lab.name}: {result.action} ({result.status}), consumers' queues VisibilityTimeout "
              f"{params['VisibilityTimeout']} s, consumer timeout {params['FunctionTimeout']} s")
    elif lab.template == "fifo":
        print(f"stack {lab.name}: {result.action} ({result.status}), FIFO queues' VisibilityTimeout "
              f"{params['VisibilityTimeout']} s, consumer timeout {params['FunctionTimeout']} s, BatchSize "
              f"{params['BatchSize']}, maxReceiveCount {params['MaxReceiveCount']}")
    else:
        print(f"stack {lab.name}: {result.action} ({result.status}), VisibilityTimeout {lab.visibility_timeout} s, "
              f"long-poll wait {lab.wait} s")
    for w in result.warnings:
        print("warning:", w)
    return result.outputs


def match_mapping(lab: Lab, params: dict) -> list[str]:
    """Make the retries stack's mapping and consumer what ``params`` say, where a chapter changed
    them by hand (update_event_source_mapping, update_function_configuration) and stopped before
    changing them back: CloudFormation compares parameters, not the resources, so a deploy with
    the same parameters would leave such a change in place. Returns what was set back."""
    lam = lab.client("lambda")
    mapping = lam.get_event_source_mapping(UUID=lab.mapping_id)
    report = str(params["ReportBatchItemFailures"]).lower() == "true"
    wanted = {"BatchSize": int(params["BatchSize"]),
              "MaximumBatchingWindowInSeconds": int(params["MaximumBatchingWindowInSeconds"]),
              "FunctionResponseTypes": ["ReportBatchItemFailures"] if report else []}
    changed = {k: v for k, v in wanted.items() if (mapping.get(k) or ([] if k == "FunctionResponseTypes" else 0)) != v}
    if mapping.get("State") not in ("Enabled", "Enabling", "Creating", "Updating"):
        changed["Enabled"] = True
    done = []
    if changed:
        lam.update_event_source_mapping(UUID=lab.mapping_id, **changed)
        done.append("mapping " + ", ".join(f"{k} {v}" for k, v in changed.items()))
    config = lam.get_function_configuration(FunctionName=lab.consumer_name)
    variables = dict(config.get("Environment", {}).get("Variables", {}))
    if variables.get("report_batch_item_failures") != ("true" if report else "false"):
        variables["report_batch_item_failures"] = "true" if report else "false"
        lam.update_function_configuration(FunctionName=lab.consumer_name, Environment={"Variables": variables})
        done.append(f"consumer environment report_batch_item_failures {variables['report_batch_item_failures']}")
    return done


def show_handlers(*logical: str) -> None:
    """Show the handlers' source as deployed (read from lambdas/, so it is never a copy)."""
    from IPython.display import Code, Markdown, display

    for name in logical or FUNCTIONS:
        display(Markdown(f"**`lambdas/{name}/index.py`**"))
        display(Code((LAMBDAS / name / "index.py").read_text().rstrip(), language="python"))
