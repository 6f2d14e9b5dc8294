"""The ``sqslab`` command."""

from __future__ import annotations

import argparse
import json
import sys

from sqslab.errors import SqslabError


def _offline(args) -> int:
    from sqslab.offline import server

    if args.action == "start":
        info = server.start(port=args.port)
        print(f"offline server running at {info.endpoint_url} (pid {info.pid}, moto {info.moto_version})")
        print(f'point other shells at it with: eval "$(sqslab offline env)"')
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
            for note in rt.get("notes", []):
                print(f"note         {note}")
    elif args.action == "env":
        status = server.status()
        if not status["running"]:
            raise SqslabError("the offline server is not running: start it with `sqslab offline start`")
        print("\n".join(server.env_lines(status["endpoint_url"])))
    return 0


def _smoke(args) -> int:
    from sqslab import smoke

    smoke.run(print)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sqslab",
        description="SQS data linkage between three Lambda functions, offline (default) or on AWS.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    off = sub.add_parser("offline", help="the embedded offline AWS (moto plus a local Lambda runtime)")
    off_sub = off.add_subparsers(dest="action", required=True)
    start = off_sub.add_parser("start", help="start the server in the background")
    start.add_argument("--port", type=int, default=None, help="loopback port (default 5151 or SQSLAB_OFFLINE_PORT)")
    off_sub.add_parser("stop", help="stop the server")
    st = off_sub.add_parser("status", help="endpoint, pid, uptime, moto version")
    st.add_argument("--json", action="store_true")
    off_sub.add_parser("env", help='print export lines: eval "$(sqslab offline env)"')
    off.set_defaults(func=_offline)

    smoke = sub.add_parser("smoke", help="a small end-to-end check: queue, function, invoke, REPORT line")
    smoke.set_defaults(func=_smoke)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SqslabError as exc:
        print(f"sqslab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sqslab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
