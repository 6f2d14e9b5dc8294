"""The offline server's process (``python -m sqslab.offline.server.process --serve``,
started by :func:`sqslab.offline.server.control.start`).

It applies :mod:`sqslab.offline.patches`, installs the local Lambda runtime
(:mod:`sqslab.offline.awslambda.service`) and the pollers of SQS event source mappings
(:mod:`sqslab.offline.awslambda.event_source`), and serves moto's WSGI application on
loopback only. Its state (pid, port, start time) lives in ``server.json`` under the state
directory (``$SQSLAB_HOME/offline``, default ``~/.sqslab/offline``); its log is
``server.log`` beside it.

Every request must be signed (AWS Signature Version 4) with the credentials of this state
directory's server, or with the temporary credentials of one of its execution environments
(:mod:`sqslab.offline.auth`, :mod:`sqslab.offline.auth.identity`): another user on the machine,
or another offline server's clients, get AWS's InvalidClientTokenId or SignatureDoesNotMatch
and change nothing.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import asdict

from sqslab.base.errors import SqslabError
from sqslab.offline.server.info import (
    DEFAULT_PORT,
    HOST,
    RECLAIM_PATH,
    STATUS_PATH,
    ServerInfo,
    read_state,
    state_dir,
    state_file,
    write_state,
)


def _say(msg: str) -> None:
    print(f"sqslab-offline: {msg}", flush=True)


def serve(port: int, token: str = "") -> int:
    """The server process's main: patch moto, install the runtime, serve on loopback."""
    import logging
    import threading

    os.umask(0o077)  # every file the server and its workers write in the state directory is the user's alone
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from sqslab.offline import settings

    try:
        settings.check_all()
    except SqslabError as exc:
        _say(str(exc))
        return 2
    # AWS managed policies (AWSLambdaBasicExecutionRole) exist in every account.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    try:
        from sqslab.offline import patches

        patches.apply_all()
        import moto
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except patches.PatchError as exc:
        _say(str(exc))
        return 4
    except ImportError as exc:
        _say(f"cannot import moto's server ({exc}); reinstall with `make test` or `pip install -e .`")
        return 4

    from sqslab.offline.auth import identity, keystore, middleware, sigv4

    creds = identity.ensure_credentials(state_dir())
    keystore.STORE.add(keystore.Principal(creds.access_key, creds.secret_key, kind="learner"))
    app = middleware.middleware(_with_status(DomainDispatcherApplication(create_backend_app)),
                          sigv4.Verifier(keystore.STORE), open_paths=(STATUS_PATH,))
    try:
        server = make_server(
            HOST,
            port,
            app,
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except (OSError, SystemExit) as exc:  # werkzeug exits on a bind failure
        _say(
            f"port {port} on {HOST} is taken by another program ({getattr(exc, 'strerror', None) or 'address in use'}): "
            "choose another with `sqslab offline start --port N`"
        )
        return 3
    actual_port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(actual_port)
    from sqslab.offline.awslambda import service as lambda_service

    lambda_service.install(endpoint_url=f"http://{HOST}:{actual_port}", state_dir=state_dir())
    from sqslab.offline.awslambda import event_source

    event_source.install()

    info = ServerInfo(
        pid=os.getpid(),
        host=HOST,
        port=actual_port,
        started=time.time(),
        moto_version=moto.__version__,
        python=".".join(map(str, sys.version_info[:3])),
        state_dir=str(state_dir()),
        token=token,
    )
    _STATUS.update({k: v for k, v in asdict(info).items() if k != "token"})
    write_state(info)
    _say(f"serving on {info.endpoint_url} (pid {info.pid}, moto {info.moto_version})")

    def _term(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    clean = False
    try:
        server.serve_forever()
        clean = True
    finally:
        event_source.shutdown()
        lambda_service.shutdown()
        try:
            # Only a clean stop removes the state file: left behind, it tells the next
            # start that this server's stacks, queues and messages were lost.
            current = read_state()
            if clean and current is not None and current.pid == os.getpid():
                state_file().unlink(missing_ok=True)
        finally:
            _say("stopped" if clean else "stopped on an error")
    return 0


_STATUS: dict = {}


def _with_status(app):
    """Wrap moto's WSGI app with the emulator's two routes: this server's status (read-only), and,
    for a POST signed with the learner's credentials, stopping the idle execution environments.

    Unsigned (no principal), it says the server's pid and nothing else: what ``ps``
    shows anyone, enough to tell this server from another program on the port. The
    whole report (state directory, functions, counts) needs a signed request."""

    def wrapped(environ, start_response):
        principal = environ.get("sqslab.principal")
        if (environ.get("PATH_INFO") == RECLAIM_PATH and environ.get("REQUEST_METHOD") == "POST"
                and getattr(principal, "kind", None) == "learner"):
            from sqslab.offline.awslambda import service as lambda_service

            body = json.dumps({"stopped": lambda_service.reclaim_idle()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == STATUS_PATH:
            from sqslab.offline import patches
            from sqslab.offline.awslambda import event_source
            from sqslab.offline.awslambda import service as lambda_service

            if environ.get("sqslab.principal") is None:
                body = json.dumps({"pid": _STATUS.get("pid")}).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            doc = dict(_STATUS)
            doc["runtime"] = {**lambda_service.describe(), "patches": patches.applied()}
            doc["event_sources"] = event_source.describe()
            from sqslab.offline.auth import middleware

            doc["auth"] = middleware.describe()
            body = json.dumps(doc).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return wrapped


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sqslab.offline.server.process")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--token", default="", help="identifies this server in its state file")
    args = parser.parse_args(argv)
    return serve(args.port, args.token)


if __name__ == "__main__":
    sys.exit(main())

