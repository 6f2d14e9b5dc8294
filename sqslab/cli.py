"""The ``sqslab`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sqslab.base.errors import SqslabError
from sqslab.config import DEFAULT_STACK, HANDOUTS, RECORDING, TEMPLATE_WORDS


def _offline(args) -> int:
    from sqslab.offline.server import control as server

    if args.action == "start":
        info = server.start(port=args.port)
        print(f"offline server running at {info.endpoint_url} (pid {info.pid}, moto {info.moto_version})")
        print('point other shells at it with: eval "$(sqslab offline env)"')
    elif args.action == "stop":
        print(server.stop())
    elif args.action == "status":
        report = server.status()
        if args.json:
            print(json.dumps(report, indent=2))
        elif not report["running"]:
            print(report["note"])
            return 1
        else:
            rt = report.get("runtime", {})
            print(f"endpoint     {report['endpoint_url']}")
            print(f"pid          {report['pid']}")
            print(f"uptime       {report['uptime_s']:.0f} s")
            print(f"moto         {report['moto_version']}")
            print(f"python       {report['python']} (runs Lambda handlers)")
            print(f"state        {report['state_dir']}")
            counts = rt.get("counts", {})
            if counts:
                print("invokes      " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            sources = report.get("event_sources") or {}
            if sources.get("mappings") or any((sources.get("counts") or {}).values()):
                c = sources.get("counts", {})
                n = sources.get("mappings", 0)
                print(f"mappings     {n} SQS event source mapping{'' if n == 1 else 's'} "
                      f"({sources.get('enabled', 0)} enabled, {sources.get('in_flight', 0)} batches in flight)")
                print(f"batches      {c.get('batches', 0)} ({c.get('records', 0)} records; "
                      f"{c.get('failed_batches', 0)} failed, {c.get('partial_batches', 0)} partly failed, "
                      f"{c.get('throttled_batches', 0)} throttled), "
                      f"retries {c.get('retries', 0)}, moved to a dead-letter queue {c.get('moved_to_dlq', 0)}, "
                      f"filtered out (deleted unseen) {c.get('filtered', 0)}")
            for note in rt.get("notes", []):
                print(f"note         {note}")
    elif args.action == "env":
        status = server.status()
        if not status["running"]:
            raise SqslabError(status["note"] if status.get("pid") else "the offline server is not running: "
                              "start it with `sqslab offline start`")
        from sqslab.offline.auth import identity

        creds = identity.load_credentials(server.state_dir())
        print("\n".join(identity.env_lines(status["endpoint_url"], creds)))
    return 0


AWS_SERVICES = ("sqs", "lambda", "logs", "cloudformation", "s3", "s3api", "iam", "sts")


def aws_cli_environment(endpoint_url: str, base: dict | None = None) -> dict[str, str]:
    """The AWS CLI's environment for the offline server: the caller's, without any AWS_*
    or proxy variable, plus the server's credentials, its region and null AWS files."""
    from sqslab import target
    from sqslab.offline.auth import identity

    source = os.environ if base is None else base
    env = {k: v for k, v in source.items()
           if not k.upper().startswith("AWS_") and not k.lower().endswith("_proxy")}
    env.update(identity.environment(endpoint_url, target.offline_credentials()))
    env["AWS_PAGER"] = ""  # CLI v2: print, do not page
    return env


def aws_cli_command(args: list[str]) -> list[str]:
    """``aws --endpoint-url URL ARGS`` with the AWS CLI next to this Python, else on PATH."""
    import shutil

    if any(a == "--endpoint-url" or a.startswith("--endpoint-url=") for a in args):
        raise SqslabError("sqslab aws gives the offline server's --endpoint-url itself: leave it out")
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.exists() else shutil.which("aws")
    if not found:
        raise SqslabError("the AWS CLI is not installed: pip install awscli (or install AWS CLI v2)")
    return [found, *args]


def _aws(args) -> int:
    """``sqslab aws ...``: the AWS CLI, with the offline server's endpoint and credentials
    (as awslocal does for LocalStack). AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS and
    would call the real AWS; with --endpoint-url every service stays on loopback."""
    from sqslab import target

    rest = list(args.cli_args)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest:
        raise SqslabError("say what to run, e.g. `sqslab aws sqs list-queues` "
                          f"(services the series uses: {', '.join(AWS_SERVICES)})")
    tgt = target.start_offline("offline")
    command = aws_cli_command(rest)
    command[1:1] = ["--endpoint-url", tgt.endpoint_url]
    env = aws_cli_environment(tgt.endpoint_url)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 0  # not reached


def _start(args):
    """The command's target, resolved once after its input is checked; offline, the
    emulator is started here when none is running (saying so in one line)."""
    from sqslab import target

    return target.start_offline(args.target)


def _handle(args):
    """The command's stack on its target: made once, passed to every call."""
    from sqslab.lab.handle import Lab

    return Lab.of(args.stack_name, _start(args))


def _deploy(args) -> int:
    from sqslab.deploy import stack, template

    params = template.parse_param_args(args.param)
    path, name, bucket = stack.check_deploy_inputs(template.resolve_template(args.template), args.stack_name,
                                                   params, args.bucket)
    result = stack.deploy(path, name, params, target=_start(args), bucket=bucket, progress=sys.stderr.isatty())
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{result.stack_name}: {result.action} ({result.status}) in {result.seconds:.1f} s")
    for k, v in sorted(result.outputs.items()):
        print(f"  {k:<14} {v}")
    return 0


def _invoke(args) -> int:
    from sqslab.deploy import checks

    payload = checks.payload_text(args.payload) if args.payload is not None else None
    checks.payload(payload), checks.function_name(args.name), checks.stack_name(args.stack_name)
    inv = _handle(args).invoke(args.name, payload, progress=sys.stderr.isatty())
    if inv.function_error:
        print(f"sqslab: {function_error_line(inv, args)}", file=sys.stderr)
        return 1
    body = inv.body
    print(json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body)
    print(inv.summary())
    return 0


def function_error_line(inv, args) -> str:
    """One line for a function that failed: Lambda's errorType and errorMessage, and where the traceback is."""
    payload = inv.payload if isinstance(inv.payload, dict) else {}
    kind = payload.get("errorType") or inv.function_error
    message = " ".join(str(payload.get("errorMessage") or "").split())
    if len(message) > 200:
        message = message[:197] + "..."
    where = f" --stack-name {args.stack_name}" if args.stack_name != DEFAULT_STACK else ""
    return (f"{args.name} failed: {kind}: {message or 'no message'}; its traceback: "
            f"sqslab logs {args.name}{where} --since 5m")


def _logs(args) -> int:
    from sqslab.analysis import logs
    from sqslab.deploy import checks

    checks.function_name(args.name), checks.stack_name(args.stack_name)
    since = logs.parse_since(args.since)
    lab = _handle(args)
    name = lab.resolve_function(args.name)
    events = logs.fetch(name, lab.target, since)
    rows = [
        {"time": logs.iso_ms(e["timestamp"]), "stream": e.get("logStreamName", ""), "message": e["message"]}
        for e in events
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    elif args.format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=["time", "stream", "message"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        for r in rows:
            print(f"{r['time']}  {r['message']}")
        if not rows:
            print(f"no log events for {name}" + (f" since {args.since}" if args.since else ""))
    return 0


def _teardown(args) -> int:
    from sqslab.deploy import checks, stack

    checks.stack_name(args.stack_name), checks.bucket_name(args.bucket)
    report = stack.teardown(args.stack_name, target=_start(args), bucket=args.bucket, progress=sys.stderr.isatty())
    scratch = report["scratch_queues_deleted"] + report["scratch_functions_deleted"] + report["scratch_mappings_deleted"]
    if not (report["stack_deleted"] or report["artifacts_deleted"] or scratch):
        print(f"{args.stack_name}: nothing to tear down")
    else:
        print(
            f"{args.stack_name}: stack {'deleted' if report['stack_deleted'] else 'was not deployed'}, "
            f"{report['artifacts_deleted']} artifacts deleted"
            + (f", {scratch} scratch queues, functions and mappings deleted" if scratch else "")
            + (", artifact bucket deleted" if report["bucket_deleted"] else "")
        )
    return 0


def _tutorial(args) -> int:
    from sqslab.target import target_name

    try:
        from sqslab.series import tutorial
    except ModuleNotFoundError as exc:  # the runner's own packages are the jupyter extra
        raise SqslabError(f"sqslab tutorial needs {exc.name}, part of the jupyter extra: "
                          "pip install -e '.[jupyter]' (make tutorial installs it)") from None

    from sqslab.deploy import checks

    # Everything that can be refused is refused before a folder is made or a kernel started.
    tutorial.check_series(args.profile, args.only or None)
    name = target_name(args.target)
    if name == "aws":
        from sqslab import target as targets

        if targets.session(targets.resolve("aws")).get_credentials() is None:
            raise SqslabError(_NO_CREDENTIALS)
    out_dir = checks.output_dir("--out", args.out)
    tutorial.run(profile=args.profile, out_dir=out_dir, target=name, only=args.only or None)
    return 0


def _pdf(args) -> int:
    import importlib.util

    if importlib.util.find_spec("nbconvert") is None:  # the handouts' converter is in the jupyter extra
        raise SqslabError("sqslab pdf needs nbconvert, part of the jupyter extra: "
                          "pip install -e '.[jupyter]' (make tutorial installs it)")
    from sqslab.config import NOTEBOOKS
    from sqslab.series import nav, printed

    out_dir = Path(args.out)
    if not out_dir.is_dir():
        raise SqslabError(f"--out {out_dir} is not a folder: give the folder `sqslab tutorial` wrote "
                          f"(default {HANDOUTS})")
    return 0 if printed.write_pdf(out_dir, nav.series(NOTEBOOKS)) is not None else 1


def _record(args) -> int:

    from sqslab import target
    from sqslab.deploy import checks
    from sqslab.series import recording

    checks.seconds("--visibility-timeout", args.visibility_timeout, 0, 43200, "SQS")
    checks.seconds("--wait", args.wait, 0, 20, "SQS")
    out = checks.output_file("--out", args.out, replaceable=recording.is_recording)
    target.start_offline("offline")
    doc = recording.record(out, visibility_timeout=args.visibility_timeout, wait=args.wait)
    print(f"recorded {len(doc['events'])} log events ({doc['emulator']}) to {args.out}")
    return 0


def _smoke(args) -> int:
    from sqslab import target
    from sqslab.deploy import smoke

    target.start_offline("offline")
    smoke.run(print)
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, exit code 2, like every other error here; an option is spelled out
    (``--templat`` is a typo, not ``--template``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"sqslab: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sqslab",
        description="SQS data linkage between three Lambda functions, offline (default) or on AWS.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    off = sub.add_parser("offline", help="the embedded offline AWS (moto plus a local Lambda runtime)")
    off_sub = off.add_subparsers(dest="action", required=True, parser_class=_Parser)
    start = off_sub.add_parser("start", help="start the server in the background")
    start.add_argument("--port", type=int, default=None, help="loopback port (default 5151 or SQSLAB_OFFLINE_PORT)")
    off_sub.add_parser("stop", help="stop the server")
    st = off_sub.add_parser("status", help="endpoint, pid, uptime, moto version")
    st.add_argument("--json", action="store_true")
    off_sub.add_parser("env", help='print export lines: eval "$(sqslab offline env)"')
    off.set_defaults(func=_offline)

    aws = sub.add_parser("aws", help="the AWS CLI on the offline server: sqslab aws sqs list-queues",
                         description="Runs the AWS CLI with the offline server's --endpoint-url and "
                                     "credentials, for every service (AWS CLI v1 ignores AWS_ENDPOINT_URL "
                                     f"for SQS). Services the series uses: {', '.join(AWS_SERVICES)}.")
    aws.add_argument("cli_args", nargs=argparse.REMAINDER, help="the AWS CLI's arguments")
    aws.set_defaults(func=_aws)

    def stack_args(p, bucket=False):
        p.add_argument("--target", choices=["offline", "aws"], default=None,
                       help="offline (default) or aws (explicit opt-in; also SQSLAB_TARGET=aws)")
        p.add_argument("--stack-name", default="sqslab")
        if bucket:
            p.add_argument("--bucket", default=None, help="artifact bucket (default: one sqslab creates and names)")

    dep = sub.add_parser("deploy", help="validate, package and deploy the stack")
    dep.add_argument("--template", default=None, help=f"a template path, or one of {TEMPLATE_WORDS} (default 'single')")
    dep.add_argument("--param", action="append", metavar="Key=Value", help="a template parameter (repeatable)")
    stack_args(dep, bucket=True)
    dep.set_defaults(func=_deploy)

    inv = sub.add_parser("invoke", help="invoke function1, function2 or function3")
    inv.add_argument("name")
    inv.add_argument("--payload", default=None, help="the event, as JSON")
    stack_args(inv)
    inv.set_defaults(func=_invoke)

    lg = sub.add_parser("logs", help="a function's CloudWatch Logs")
    lg.add_argument("name")
    lg.add_argument("--since", default=None, help="90s, 15m, 2h, 1d or an ISO time")
    lg.add_argument("--format", choices=["table", "json", "csv"], default="table")
    stack_args(lg)
    lg.set_defaults(func=_logs)

    td = sub.add_parser("teardown", help="delete the stack, its artifacts and the bucket sqslab created")
    stack_args(td, bucket=True)
    td.set_defaults(func=_teardown)

    tut = sub.add_parser("tutorial", help="execute the notebook series and write HTML handouts and a PDF")
    tut.add_argument("--profile", choices=["article", "quick"], default="article",
                     help="article: 90 s / 20 s as in the article; quick: 6 s / 2 s")
    tut.add_argument("--out", default=str(HANDOUTS))
    tut.add_argument("--target", choices=["offline", "aws"], default=None)
    tut.add_argument("--only", action="append", help="run only this notebook (repeatable), e.g. 02_invoke")
    tut.set_defaults(func=_tutorial)

    pdf = sub.add_parser("pdf", help="print the executed series of --out again as one PDF, without running it "
                                     "(sqslab.pdf; needs Chromium)")
    pdf.add_argument("--out", default=str(HANDOUTS), help="the folder `sqslab tutorial` wrote (default build/handouts)")
    pdf.set_defaults(func=_pdf)

    rec = sub.add_parser("record", help="run the article's sequence offline and export its logs (data/recorded/)")
    rec.add_argument("--out", default=str(RECORDING))
    rec.add_argument("--visibility-timeout", type=int, default=90)
    rec.add_argument("--wait", type=int, default=20)
    rec.set_defaults(func=_record)

    smoke = sub.add_parser("smoke", help="a small end-to-end check: queue, function, invoke, REPORT line")
    smoke.set_defaults(func=_smoke)
    return parser


# What an interrupted command may have left, and what to do about it.
_AFTER_INTERRUPT = {
    "deploy": ": the stack may be deployed in part; run the same `sqslab deploy` again to finish it, or "
              "`sqslab teardown` to remove it",
    "teardown": ": the stack may be deleted in part; run the same `sqslab teardown` again",
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["aws"] and argv[1:2] not in (["-h"], ["--help"]):
        args = argparse.Namespace(func=_aws, cli_args=argv[1:])  # every argument is the AWS CLI's
    else:
        args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _pipe_closed()
    except SqslabError as exc:
        print(f"sqslab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sqslab: interrupted{_AFTER_INTERRUPT.get(getattr(args, 'command', None), '')}", file=sys.stderr)
        return 130
    except Exception as exc:
        line = _aws_error_line(exc)
        if line is not None:
            print(f"sqslab: {line}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError) and not os.environ.get("SQSLAB_DEBUG"):
            print(f"sqslab: {_os_error_line(exc)}", file=sys.stderr)
            return 2
        if os.environ.get("SQSLAB_DEBUG"):
            raise
        detail = " ".join(str(exc).split())[:200]
        print(f"sqslab: unexpected {type(exc).__name__}{': ' + detail if detail else ''} "
              "(run again with SQSLAB_DEBUG=1 for the traceback, and report it)", file=sys.stderr)
        return 1


def _pipe_closed() -> int:
    """The reader of our output went away (``sqslab invoke ... | head``): end quietly, as Unix tools do
    (exit status 141, 128 + SIGPIPE), with nothing more written (Python's "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def _os_error_line(exc: OSError) -> str:
    """A file system error in one line: which file, what the system said, what to do."""
    where = f"{exc.filename}: " if exc.filename else ""
    what = exc.strerror or str(exc)
    advice = {13: "check its permissions", 28: "free some disk space", 30: "choose a writable place",
              2: "check the path", 17: "choose another name", 20: "a part of the path is a file",
              21: "give a file, not a folder"}.get(exc.errno or 0, "check the path and try again")
    return f"{where}{what}: {advice}"


_NO_CREDENTIALS = "no AWS credentials found: configure them (aws configure, AWS_PROFILE) or use the offline target"


def _aws_error_line(exc: Exception) -> str | None:
    """One line for an error from AWS (or the emulator), or None for anything else."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return _NO_CREDENTIALS
    if isinstance(exc, NoRegionError):
        return "no AWS region configured: set AWS_REGION or a region in your profile"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{exc.operation_name} failed: {err.get('Code')}: {err.get('Message')}"
    if isinstance(exc, BotoCoreError):
        return " ".join(str(exc).split())
    return None


if __name__ == "__main__":
    sys.exit(main())
