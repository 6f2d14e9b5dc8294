"""One Lambda execution environment: a Python process that imports a handler once
and runs it for each invoke it is sent.

Run as a script (``python -I -S worker.py``) by :mod:`sqslab.offline.awslambda.environment`, never
imported by the package. It needs only the standard library: ``-I`` keeps its own
directory, the user's site and ``PYTHON*`` variables off ``sys.path``, ``-S`` the
interpreter's site-packages (the server's venv). The ``init`` message then puts the
handler's import path in front of the standard library, in Lambda's order: the task
root, the layers, the libraries Lambda's Python runtime ships (boto3 and its
dependencies, see :mod:`sqslab.offline.awslambda.runtime_libs`). Anything else fails to import,
as on Lambda. It speaks JSON lines: requests on the file descriptor
that was stdin when it started, replies on the one that was stdout. Processes
the handler starts inherit neither of the two (their stdin is the null device). The
handler's own stdout, stderr and ``logging`` output are streamed back as ``log``
messages, one per line, the way Lambda's Python runtime sends them to CloudWatch
Logs.

The runtime starts each worker as the leader of its own process group and kills
that group when it stops the environment. When the server goes away without
doing so (killed), the request pipe closes: the worker then kills its own group,
so nothing a handler started outlives the server.

Messages in:  {"op": "init", "handler": "index.lambda_handler", "task_root": "...", "path": [...]}
              {"op": "invoke", "request_id": ..., "event": "<json>", "deadline_ms": ...,
               "invoked_function_arn": ..., "trace_id": ...}
Messages out: {"op": "log", "text": ...}
              {"op": "ready", "init_ms": ..., "max_rss_mb": ...}
              | {"op": "init_error", "error": {...}, "max_rss_mb": ...}
              {"op": "result", "payload": "<json>", "max_rss_mb": ...}
              {"op": "error", "error": {...}, "max_rss_mb": ...}
"""

import importlib
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback

# os.dup gives descriptors that child processes do not inherit.
_PROTO = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)  # anything written to fd 1 below Python goes to stderr, never the protocol
_REQUESTS = os.fdopen(os.dup(0), "rb")
_NULL = os.open(os.devnull, os.O_RDONLY)
os.dup2(_NULL, 0)  # a child that reads stdin must not take the runtime's requests
os.close(_NULL)
_LOCK = threading.Lock()
_REQUEST_ID = {"id": ""}


def send(msg):
    line = json.dumps(msg, ensure_ascii=False)
    with _LOCK:
        _PROTO.write(line + "\n")
        _PROTO.flush()


class _LogStream:
    """A text stream that sends each complete line as one log event."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self):
        self._buf = ""

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            send({"op": "log", "text": line})
        return len(text)

    def flush(self):
        if self._buf:
            send({"op": "log", "text": self._buf})
            self._buf = ""

    def isatty(self):
        return False

    def writable(self):
        return True


class _LambdaLogHandler(logging.Handler):
    """Like Lambda's: one event per record, tab-separated level, time, request id."""

    def emit(self, record):
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            text = f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t{_REQUEST_ID['id']}\t{record.getMessage()}"
            if record.exc_info:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            sys.stdout.flush()
            send({"op": "log", "text": text})
        except Exception:  # logging must never break the handler
            pass


class Context:
    """The Lambda context object handed to the handler."""

    def __init__(self, msg):
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.aws_request_id = msg["request_id"]
        self.invoked_function_arn = msg["invoked_function_arn"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = msg["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _max_rss_mb():
    # VmHWM is this process image's peak; ru_maxrss on Linux also counts the
    # parent's memory from before exec, which is the server's, not the function's.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(int(line.split()[1]) / 1024)
    except OSError:
        pass
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(rss / 1024 / 1024) if sys.platform == "darwin" else int(rss / 1024)


def _error(exc, error_type=None, skip_frames=0):
    tb = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": _REQUEST_ID["id"],
        "stackTrace": traceback.format_list(tb),
    }


def _log_error(err):
    # As Lambda's runtime interface client writes it: the Traceback line even with no frames.
    text = f"[ERROR] {err['errorType']}: {err['errorMessage']}\nTraceback (most recent call last):"
    if err["stackTrace"]:
        text += "\n" + "".join(err["stackTrace"]).rstrip()
    send({"op": "log", "text": text})


def _runtime_error(error_type, message):
    return {"errorMessage": message, "errorType": error_type, "requestId": _REQUEST_ID["id"], "stackTrace": []}


def init(msg):
    handler_string = msg["handler"]
    module_name, _, func_name = handler_string.rpartition(".")
    if not module_name or not func_name:
        return None, _runtime_error(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler_string}': not enough values to unpack (expected 2, got 1)",
        )
    sys.path[:0] = msg.get("path") or [msg["task_root"]]
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            return None, _runtime_error(
                "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return None, _runtime_error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        err = _runtime_error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        err["stackTrace"] = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        return None, err
    except Exception as exc:
        return None, _error(exc)
    func = getattr(module, func_name, None)
    if func is None:
        return None, _runtime_error("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return func, None


def _end_group():
    """Kill this worker and everything it started, when it leads its own process group
    (as the runtime starts it); otherwise just exit."""
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(1)


def _read_requests(inbox):
    """Feed requests to the main thread; at end of input (the server is gone), end the group.

    A thread of its own, so the end is noticed while a handler is still running."""
    for raw in _REQUESTS:
        inbox.put(raw)
    _end_group()


def main():
    if sys.flags.no_site:  # started with -S: the builtins site would add (exit, quit, help, ...)
        import site

        site.setquit()
        site.setcopyright()
        site.sethelper()
    sys.stdout = _LogStream()
    sys.stderr = _LogStream()
    root = logging.getLogger()
    root.handlers[:] = [_LambdaLogHandler()]
    inbox = queue.Queue()
    threading.Thread(target=_read_requests, args=(inbox,), daemon=True).start()
    handler = None
    while True:
        msg = json.loads(inbox.get())
        op = msg.get("op")
        if op == "init":
            t0 = time.perf_counter()
            handler, err = init(msg)
            sys.stdout.flush()
            sys.stderr.flush()
            if err:
                _log_error(err)
                send({"op": "init_error", "error": err, "max_rss_mb": _max_rss_mb()})
            else:
                send({"op": "ready", "init_ms": (time.perf_counter() - t0) * 1000, "max_rss_mb": _max_rss_mb()})
        elif op == "invoke":
            _REQUEST_ID["id"] = msg["request_id"]
            os.environ["_X_AMZN_TRACE_ID"] = msg.get("trace_id", "")
            try:
                event = json.loads(msg["event"]) if msg["event"] else {}
                result = handler(event, Context(msg))
                try:
                    payload = json.dumps(result, ensure_ascii=False)
                except (TypeError, ValueError) as exc:
                    err = _runtime_error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
                    sys.stdout.flush()
                    _log_error(err)
                    send({"op": "error", "error": err, "max_rss_mb": _max_rss_mb()})
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                send({"op": "result", "payload": payload, "max_rss_mb": _max_rss_mb()})
            except Exception as exc:
                sys.stdout.flush()
                sys.stderr.flush()
                err = _error(exc, skip_frames=1)
                _log_error(err)
                send({"op": "error", "error": err, "max_rss_mb": _max_rss_mb()})
        elif op == "exit":
            break


if __name__ == "__main__":
    main()
