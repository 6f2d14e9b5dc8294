"""The Lambda patches: environment values as strings, invokes run by the local runtime, and
SQS event source mappings checked as Lambda checks them and served by offline pollers."""

from __future__ import annotations

import functools
import inspect

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of, require_attr, require_params


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


def apply_lambda_env_strings() -> str:
    from moto.awslambda.models import LambdaFunction

    if isinstance(LambdaFunction.__dict__.get("environment_vars"), property):
        return "already applied"
    require_attr(LambdaFunction, "__init__", "lambda_env_strings")
    source = inspect.getsource(LambdaFunction.__init__)
    if "self.environment_vars" not in source:
        raise mismatch_error("lambda_env_strings", "no longer sets LambdaFunction.environment_vars")

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
def apply_lambda_local_runtime() -> str:
    from moto.awslambda.models import LambdaFunction

    params = ("self", "body", "request_headers", "response_headers")
    if original_of(LambdaFunction, "invoke", "lambda_local_runtime", params) is None:
        return "already applied"
    for attr in ("code_bytes", "handler", "run_time", "timeout", "memory_size", "logs_backend"):
        if attr not in inspect.getsource(LambdaFunction):
            raise mismatch_error("lambda_local_runtime", f"LambdaFunction no longer has {attr}")

    def invoke(self, body, request_headers, response_headers):
        from sqslab.offline.awslambda import service as lambda_service

        return lambda_service.get().invoke(self, body, request_headers, response_headers)

    mark_applied(invoke, "lambda_local_runtime")
    LambdaFunction.invoke = invoke
    return "LambdaFunction.invoke runs handlers in local worker processes"


# ---------------------------------------------------------------------------
# lambda_esm_sqs_checks
# Upstream gap: moto's CreateEventSourceMapping for a queue checks only that
# BatchSize is at most 10 (FIFO) or 10000, and raises a TypeError when
# CloudFormation passes it as text. Lambda also refuses a BatchSize over 10
# without a batching window, a window on a FIFO queue, numbers out of range,
# a second mapping of the same queue and function, a queue that does not exist,
# and a function whose timeout exceeds the queue's visibility timeout
# (services-sqs-parameters, services-sqs-configure, CreateEventSourceMapping),
# and a function whose execution role may not poll the queue (ReceiveMessage,
# DeleteMessage, GetQueueAttributes). The wording is Lambda's (sqslab.offline.awslambda.mapping_checks.check_sqs_mapping).
def _lambda_error(err):
    from moto.awslambda.exceptions import LambdaClientError

    exc = LambdaClientError(err.code, err.message)
    exc.code = err.status
    return exc


def apply_lambda_esm_sqs_checks() -> str:
    from moto.awslambda.models import LambdaBackend

    patch = "lambda_esm_sqs_checks"
    create = original_of(LambdaBackend, "create_event_source_mapping", patch, ("self", "spec"))
    if create is None:
        return "already applied"
    update = original_of(LambdaBackend, "update_event_source_mapping", patch, ("self", "uuid", "spec"))
    for attr in ("get_function", "get_event_source_mapping"):
        require_attr(LambdaBackend, attr, patch)
    if "self._event_source_mappings" not in inspect.getsource(LambdaBackend.__init__):
        raise mismatch_error(patch, "LambdaBackend no longer keeps _event_source_mappings")

    def create_event_source_mapping(self, spec):
        from sqslab.offline.awslambda import event_source as es
        from sqslab.offline.awslambda import mapping_checks

        if not (spec.get("FunctionName") and es.is_sqs(spec.get("EventSourceArn"))):
            return create(self, spec)
        spec = mapping_checks.normalise(spec)
        fn = self.get_function(spec["FunctionName"])  # ResourceNotFoundException, as moto words it
        queue = es.find_queue(spec["EventSourceArn"])
        try:
            if queue is None:
                raise mapping_checks.queue_missing()
            for other in list(self._event_source_mappings.values()):
                if other.event_source_arn == queue.queue_arn and other.function_arn == fn.function_arn:
                    raise mapping_checks.already_mapped(queue.queue_arn, fn.function_name, other.uuid)
            mapping_checks.check_sqs_mapping(spec, fifo=bool(queue.fifo_queue), visibility_timeout=int(queue.visibility_timeout),
                                 function_timeout=int(fn.timeout or 3))
            mapping_checks.check_role_can_poll(str(fn.role or ""), queue.queue_arn, queue.region)
        except mapping_checks.MappingError as err:
            raise _lambda_error(err) from None
        return create(self, spec)

    def update_event_source_mapping(self, uuid, spec):
        from sqslab.offline.awslambda import event_source as es
        from sqslab.offline.awslambda import mapping_checks

        esm = self.get_event_source_mapping(uuid)
        if esm is None or not es.is_sqs(esm.event_source_arn):
            return update(self, uuid, spec)
        spec = mapping_checks.normalise(spec)
        merged = {
            "BatchSize": spec.get("BatchSize", esm.batch_size),
            "MaximumBatchingWindowInSeconds": spec.get("MaximumBatchingWindowInSeconds", esm.max_batch_window),
            "ScalingConfig": spec.get("ScalingConfig", esm.scaling_config),
            "FunctionResponseTypes": spec.get("FunctionResponseTypes", esm.function_response_types),
            "FilterCriteria": spec.get("FilterCriteria", esm.filter_criteria),
        }
        queue = es.find_queue(esm.event_source_arn)
        visibility = function_timeout = None
        # "Lambda validates this requirement when you create or update an event source mapping"
        # (services-sqs-configure): on every update, against the function it will invoke.
        function = spec.get("FunctionName") or getattr(esm, "function_arn", None) or esm.function_name
        if function and queue is not None:
            fn = self.get_function(function)
            visibility, function_timeout = int(queue.visibility_timeout), int(fn.timeout or 3)
        try:
            mapping_checks.check_sqs_mapping(merged, fifo=esm.event_source_arn.endswith(".fifo"),
                                 visibility_timeout=visibility, function_timeout=function_timeout)
        except mapping_checks.MappingError as err:
            raise _lambda_error(err) from None
        return update(self, uuid, spec)

    LambdaBackend.create_event_source_mapping = mark_applied(create_event_source_mapping, patch, create)
    LambdaBackend.update_event_source_mapping = mark_applied(update_event_source_mapping, patch, update)
    return "SQS mappings are checked as Lambda checks them"


# ---------------------------------------------------------------------------
# lambda_esm_sqs_poller
# Upstream gap: moto keeps SQS mappings as records that SendMessage acts on
# (patched away by sqs_no_push_on_send) and reports State "Enabled"/"Disabled"
# with StateTransitionReason "User initiated" at once. Lambda polls the queue
# and reports Creating/Enabling/Updating/Disabling on the way, with
# "USER_INITIATED". This starts, nudges and stops one poller per SQS mapping
# (sqslab.offline.awslambda.event_source) from Create/Update/DeleteEventSourceMapping,
# which CloudFormation's AWS::Lambda::EventSourceMapping also goes through, and
# reports the poller's State.
def apply_lambda_esm_sqs_poller() -> str:
    from moto.awslambda.models import EventSourceMapping, LambdaBackend

    patch = "lambda_esm_sqs_poller"
    create = original_of(LambdaBackend, "create_event_source_mapping", patch, ("self", "spec"))
    if create is None:
        return "already applied"
    update = original_of(LambdaBackend, "update_event_source_mapping", patch, ("self", "uuid", "spec"))
    delete = original_of(LambdaBackend, "delete_event_source_mapping", patch, ("self", "uuid"))
    config = original_of(EventSourceMapping, "get_configuration", patch, ("self",))
    source = inspect.getsource(EventSourceMapping.__init__)
    for attr in ("enabled", "batch_size", "max_batch_window", "function_response_types", "scaling_config", "filter_criteria",
                 "function_arn", "uuid"):
        if f"self.{attr}" not in source:
            raise mismatch_error(patch, f"EventSourceMapping no longer has {attr}")
    from moto.awslambda.models import LambdaFunction

    if "self.reserved_concurrency" not in inspect.getsource(LambdaFunction.__init__):
        raise mismatch_error(patch, "LambdaFunction no longer has reserved_concurrency")

    def create_event_source_mapping(self, spec):
        from sqslab.offline.awslambda import event_source as es

        esm = create(self, spec)
        sources = es.get()
        if sources is not None and es.is_sqs(esm.event_source_arn):
            sources.created(esm, self.account_id, self.region_name)
        return esm

    def update_event_source_mapping(self, uuid, spec):
        from sqslab.offline.awslambda import event_source as es

        before = self.get_event_source_mapping(uuid)
        was_enabled = bool(before.enabled) if before is not None else False
        esm = update(self, uuid, spec)
        sources = es.get()
        if esm is not None and sources is not None and es.is_sqs(esm.event_source_arn):
            sources.updated(esm, was_enabled)
        return esm

    def delete_event_source_mapping(self, uuid):
        from sqslab.offline.awslambda import event_source as es

        esm = delete(self, uuid)
        sources = es.get()
        if esm is not None and sources is not None and es.is_sqs(esm.event_source_arn):
            sources.deleted(esm)
        return esm

    def get_configuration(self):
        from sqslab.offline.awslambda import event_source as es

        doc = config(self)
        sources = es.get()
        if sources is not None and es.is_sqs(self.event_source_arn):
            doc["State"] = sources.state(self)
            doc["StateTransitionReason"] = es.STATE_REASON
            doc.setdefault("MaximumBatchingWindowInSeconds", 0)
        return doc

    LambdaBackend.create_event_source_mapping = mark_applied(create_event_source_mapping, patch, create)
    LambdaBackend.update_event_source_mapping = mark_applied(update_event_source_mapping, patch, update)
    LambdaBackend.delete_event_source_mapping = mark_applied(delete_event_source_mapping, patch, delete)
    EventSourceMapping.get_configuration = mark_applied(get_configuration, patch, config)
    return "SQS mappings are served by offline pollers"


# ---------------------------------------------------------------------------
# lambda_invoke_request_checks
# Upstream gap: moto's Invoke runs the handler whatever the request body is: a
# payload that is not JSON reaches the function, and a 6.3 MB payload is
# accepted. Lambda refuses both before anything runs (Lambda API reference,
# Invoke: request body and Errors; Lambda quotas, "Invocation payload"):
# a body that is not JSON is InvalidRequestContentException (400, "Could not
# parse request body into json: ..."), and one over the payload quota (6 MB for
# RequestResponse, 1 MB for Event) is refused with 413. The 413 error type is
# the one Lambda sends, RequestEntityTooLargeException ("Request must be smaller
# than 6291456 bytes for the InvokeFunction operation"; "N byte payload is too
# large for the Event invocation type (limit L bytes)"), not the
# RequestTooLargeException the API model names. Checked on LambdaBackend.invoke,
# the Invoke API's path only: the SQS event source pollers hand their batches to
# the runtime directly, and keep them within 6 MB themselves.
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # bytes, RequestResponse (and DryRun)
EVENT_PAYLOAD_LIMIT = 1024 * 1024  # bytes, Event (raised from 256 KB; the Invoke reference says 1 MB)


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotJson(f"Non-standard token '{name}'")


def invoke_request_error(body, invocation_type: str | None) -> tuple[str, str, int] | None:
    """(error type, message, HTTP status) Lambda answers an Invoke request body with, or None."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    if (invocation_type or "RequestResponse") == "Event":
        if len(raw) > EVENT_PAYLOAD_LIMIT:
            return ("RequestEntityTooLargeException",
                    f"{len(raw)} byte payload is too large for the Event invocation type "
                    f"(limit {EVENT_PAYLOAD_LIMIT} bytes)", 413)
    elif len(raw) > SYNC_PAYLOAD_LIMIT:
        return ("RequestEntityTooLargeException",
                f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation", 413)
    if not raw:
        return None  # no payload: the function gets an empty event
    try:
        import json

        json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        return ("InvalidRequestContentException",
                f"Could not parse request body into json: Could not parse payload into json: {exc}", 400)
    return None


def apply_lambda_invoke_request_checks() -> str:
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse

    patch = "lambda_invoke_request_checks"
    original = original_of(LambdaBackend, "invoke", patch,
                         ("self", "function_name", "qualifier", "body", "headers", "response_headers"))
    if original is None:
        return "already applied"
    if "self.backend.invoke(" not in inspect.getsource(require_attr(LambdaResponse, "invoke", patch)):
        raise mismatch_error(patch, "no longer answers Invoke through LambdaBackend.invoke")
    setup = require_attr(LambdaResponse, "setup_class", patch)
    require_params(setup, ("self", "request", "full_url", "headers", "use_raw_body"), patch)

    def setup_class(self, request, full_url=None, headers=None, use_raw_body=None):
        # moto decodes every request body as UTF-8 first, a server error for an Invoke
        # payload that is not text: keep that one as bytes, for the check below.
        try:
            return setup(self, request, full_url, headers, use_raw_body)
        except UnicodeDecodeError:
            if not str(getattr(request, "path", "")).rstrip("/").endswith("/invocations"):
                raise
            return setup(self, request, full_url, headers, True)

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        from sqslab.offline.awslambda.service import header_value

        refusal = invoke_request_error(body, header_value(headers, "X-Amz-Invocation-Type"))
        if refusal is not None:
            from moto.awslambda.exceptions import LambdaClientError

            exc = LambdaClientError(refusal[0], refusal[1])
            exc.code = refusal[2]
            raise exc
        return original(self, function_name, qualifier, body, headers, response_headers)

    LambdaBackend.invoke = mark_applied(invoke, patch, original)
    LambdaResponse.setup_class = mark_applied(setup_class, patch, setup)
    return "Invoke refuses a payload that is not JSON or over Lambda's payload quota"


# ---------------------------------------------------------------------------
# lambda_code_package_limits
# Upstream gap: moto accepts a code package or layer of any unzipped size (a
# 1 MB zip of zeros unpacks to gigabytes), a function whose code and layers
# together exceed Lambda's quota, and a zip that is not one; it forgets a deleted
# layer version at once, where Lambda keeps it working for the functions that use
# it. Lambda checks the quota when the package is created or updated
# (CreateFunction, UpdateFunctionCode, PublishLayerVersion, UpdateFunctionConfiguration
# with Layers, and so through CloudFormation, which calls the same backend):
# InvalidParameterValueException, "Unzipped size must be smaller than 262144000
# bytes" / "Function code combined with layers exceeds ..." (Lambda quotas). After
# a function is deleted, its code replaced or a layer version deleted, the unpacked
# packages no function uses any longer are removed (sqslab.offline.awslambda.pool).
def _package_refusal(err):
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(err.message)


def _sweep() -> None:
    from sqslab.offline.awslambda import service as lambda_service

    if lambda_service.installed() is not None:
        try:
            lambda_service.installed().sweep_packages()
        except Exception as exc:  # a sweep that fails leaves folders behind: say so, never fail the call
            print(f"sqslab-offline: could not remove unused code packages: {exc}", flush=True)


def apply_lambda_code_package_limits() -> str:
    from moto.awslambda.models import LambdaBackend, LambdaFunction, LambdaStorage, LayerStorage

    from sqslab.offline.awslambda import code_package
    from sqslab.offline.awslambda import service as lambda_service

    patch = "lambda_code_package_limits"
    put_function = original_of(LambdaStorage, "put_function", patch, ("self", "fn"))
    if put_function is None:
        return "already applied"
    put_layer = original_of(LayerStorage, "put_layer_version", patch, ("self", "layer_version"))
    set_code = original_of(LambdaFunction, "_set_function_code", patch, ("self", "updated_spec"))
    update_config = original_of(LambdaFunction, "update_configuration", patch, ("self", "config_updates"))
    sweepers = {name: original_of(LambdaBackend, name, patch) for name in
                ("delete_function", "update_function_code", "update_function_configuration", "delete_layer_version")}

    def check(fn) -> None:
        try:
            code_package.check_function(getattr(fn, "code_bytes", b"") or b"", lambda_service.layer_codes(fn))
        except code_package.PackageError as err:
            raise _package_refusal(err) from None

    def checked_put_function(self, fn):
        check(fn)
        return put_function(self, fn)

    def checked_put_layer(self, layer_version):
        try:
            code_package.check_package(layer_version.code_bytes or b"")
        except code_package.PackageError as err:
            raise _package_refusal(err) from None
        lambda_service.remember_layer(layer_version)
        return put_layer(self, layer_version)

    def undoable(method, touches_code):
        @functools.wraps(method)
        def wrapper(self, spec):
            before = dict(self.__dict__)
            result = method(self, spec)
            if touches_code(spec):
                try:
                    check(self)
                except Exception:
                    self.__dict__.clear()
                    self.__dict__.update(before)  # nothing of a refused update stays
                    raise
            return result

        return wrapper

    def then_sweep(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            result = method(self, *args, **kwargs)
            _sweep()
            return result

        return wrapper

    LambdaStorage.put_function = mark_applied(checked_put_function, patch, put_function)
    LayerStorage.put_layer_version = mark_applied(checked_put_layer, patch, put_layer)
    LambdaFunction._set_function_code = mark_applied(undoable(set_code, lambda spec: True), patch, set_code)
    LambdaFunction.update_configuration = mark_applied(
        undoable(update_config, lambda spec: isinstance(spec, dict) and "Layers" in spec), patch, update_config)
    for name, method in sweepers.items():
        setattr(LambdaBackend, name, mark_applied(then_sweep(method), patch, method))
    return (f"code packages and layers over {code_package.UNZIPPED_LIMIT} bytes unzipped are refused; "
            "unused unpacked packages are removed")


# ---------------------------------------------------------------------------
# lambda_environment_checks
# Upstream gap: moto accepts any environment variables, Lambda's reserved keys
# (AWS_ACCESS_KEY_ID, _HANDLER, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, ...) included, and
# the runtime then silently replaces them. Lambda refuses them at CreateFunction and
# UpdateFunctionConfiguration (and so through CloudFormation), as
# sqslab.offline.awslambda.function_config says.
def apply_lambda_environment_checks() -> str:
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaFunction, LambdaStorage

    from sqslab.offline.awslambda import function_config

    patch = "lambda_environment_checks"
    put_function = original_of(LambdaStorage, "put_function", patch, ("self", "fn"))
    if put_function is None:
        return "already applied"
    update_config = original_of(LambdaFunction, "update_configuration", patch, ("self", "config_updates"))
    if "self.environment_vars" not in inspect.getsource(LambdaFunction):
        raise mismatch_error(patch, "no longer keeps LambdaFunction.environment_vars")

    def refuse(variables) -> None:
        problem = function_config.environment_problem(variables)
        if problem is not None:
            raise LambdaClientError(*problem)

    def checked_put_function(self, fn):
        refuse(getattr(fn, "environment_vars", None))
        return put_function(self, fn)

    def checked_update_configuration(self, config_updates):
        env = config_updates.get("Environment") if isinstance(config_updates, dict) else None
        if isinstance(env, dict):
            refuse(env.get("Variables"))
        return update_config(self, config_updates)

    LambdaStorage.put_function = mark_applied(checked_put_function, patch, put_function)
    LambdaFunction.update_configuration = mark_applied(checked_update_configuration, patch, update_config)
    return "environment variables with Lambda's reserved keys, bad keys or over 4 KB are refused"


# ---------------------------------------------------------------------------
# lambda_reserved_concurrency
# Upstream gap: moto checks a reservation against the account's concurrency only when
# the MOTO_LAMBDA_CONCURRENCY_QUOTA environment variable is set, and never enforces a
# reservation on invoke. Lambda refuses a reservation that leaves fewer than 100 of the
# account's 1,000 unreserved (Lambda Developer Guide, "Configuring reserved concurrency";
# PutFunctionConcurrency, InvalidParameterValueException); the invoke side is
# sqslab.offline.awslambda.service with sqslab.offline.awslambda.concurrency.
def apply_lambda_reserved_concurrency() -> str:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend

    from sqslab.offline.awslambda import concurrency

    patch = "lambda_reserved_concurrency"
    put = original_of(LambdaBackend, "put_function_concurrency", patch,
                      ("self", "function_name", "reserved_concurrency"))
    if put is None:
        return "already applied"
    require_attr(LambdaBackend, "get_function", patch)

    @functools.wraps(put)
    def put_function_concurrency(self, function_name, reserved_concurrency):
        fn = self.get_function(function_name)
        wanted = int(reserved_concurrency)
        others = sum(concurrency.reserved_of(f.reserved_concurrency) or 0 for f in self.list_functions()
                     if f.function_arn != fn.function_arn)
        refusal = concurrency.reservation_refusal(wanted, others)
        if refusal:
            raise InvalidParameterValueException(refusal)
        return put(self, function_name, wanted)

    create = original_of(LambdaBackend, "create_function", patch, ("self", "spec"))

    @functools.wraps(create)
    def create_function(self, spec):
        # a template's ReservedConcurrentExecutions (CloudFormation creates the function with it) meets
        # the same rule as PutFunctionConcurrency
        wanted = concurrency.reserved_of(spec.get("ReservedConcurrentExecutions") if isinstance(spec, dict) else None)
        if wanted is not None:
            others = sum(concurrency.reserved_of(f.reserved_concurrency) or 0 for f in self.list_functions())
            refusal = concurrency.reservation_refusal(wanted, others)
            if refusal:
                raise InvalidParameterValueException(refusal)
        return create(self, spec)

    LambdaBackend.put_function_concurrency = mark_applied(put_function_concurrency, patch, put)
    LambdaBackend.create_function = mark_applied(create_function, patch, create)
    return (f"a reservation leaving fewer than {concurrency.UNRESERVED_MINIMUM} of the account's "
            f"{concurrency.ACCOUNT_LIMIT} unreserved is refused, by PutFunctionConcurrency or in a template")


# ---------------------------------------------------------------------------
# lambda_account_settings
# Upstream gap: moto serves no GetAccountSettings (GET /2016-08-19/account-settings answers 404),
# so the account's concurrency, and what reservations leave of it, cannot be read offline. Here
# it answers as the Lambda API reference describes GetAccountSettings: AccountLimit (the
# account's concurrency, UnreservedConcurrentExecutions after every function's reservation, the
# code size quotas) and AccountUsage (the functions and their code).
def apply_lambda_account_settings() -> str:
    import json

    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    from sqslab.offline.awslambda import code_package, concurrency

    patch = "lambda_account_settings"
    existing = getattr(LambdaResponse, "get_account_settings", None)
    if patch in getattr(existing, "_sqslab_patches", ()):
        return "already applied"
    if existing is not None:
        raise mismatch_error(patch, "now has LambdaResponse.get_account_settings of its own")
    paths = require_attr(urls, "url_paths", patch)
    require_attr(LambdaResponse, "backend", patch)

    def get_account_settings(self):
        functions = list(self.backend.list_functions())
        reserved = sum(concurrency.reserved_of(f.reserved_concurrency) or 0 for f in functions)
        body = {
            "AccountLimit": {
                "TotalCodeSize": ACCOUNT_CODE_STORAGE,
                "CodeSizeUnzipped": code_package.UNZIPPED_LIMIT,
                "CodeSizeZipped": ZIPPED_LIMIT,
                "ConcurrentExecutions": concurrency.ACCOUNT_LIMIT,
                "UnreservedConcurrentExecutions": concurrency.ACCOUNT_LIMIT - reserved,
            },
            "AccountUsage": {
                "TotalCodeSize": sum(int(getattr(f, "code_size", 0) or 0) for f in functions),
                "FunctionCount": len(functions),
            },
        }
        return 200, {}, json.dumps(body)

    paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch
    LambdaResponse.get_account_settings = mark_applied(get_account_settings, patch)
    return "GetAccountSettings answers with the account's concurrency, what reservations leave of it, and its code"


ACCOUNT_CODE_STORAGE = 80_530_636_800  # 75 GB of function and layer code per Region (Lambda quotas)
ZIPPED_LIMIT = 52_428_800  # 50 MB zipped, uploaded directly (Lambda quotas)


# ---------------------------------------------------------------------------
# lambda_esm_unknown_uuid_not_found
# Upstream gap: UpdateEventSourceMapping and DeleteEventSourceMapping of a UUID no mapping has answer
# 404 with an empty body and no error type, which the SDKs read as success. The Lambda API reference
# lists ResourceNotFoundException (404) for both, as GetEventSourceMapping answers it already.
def apply_lambda_esm_unknown_uuid_not_found() -> str:
    import json

    from moto.awslambda.responses import LambdaResponse

    patch = "lambda_esm_unknown_uuid_not_found"
    update = original_of(LambdaResponse, "update_event_source_mapping", patch, ("self",))
    if update is None:
        return "already applied"
    delete = original_of(LambdaResponse, "delete_event_source_mapping", patch, ("self",))

    def not_found(original):
        @functools.wraps(original)
        def answer(self):
            status, headers, body = original(self)
            if status == 404 and not (headers or {}).get("x-amzn-errortype"):
                return 404, {"x-amzn-errortype": "ResourceNotFoundException", "status": 404}, json.dumps(
                    {"Type": "User", "Message": "The resource you requested does not exist."})
            return status, headers, body

        return mark_applied(answer, patch, original)

    LambdaResponse.update_event_source_mapping = not_found(update)
    LambdaResponse.delete_event_source_mapping = not_found(delete)
    return "updating or deleting a mapping that does not exist answers ResourceNotFoundException"


# ---------------------------------------------------------------------------
# lambda_invoke_async_is_asynchronous
# Upstream gap: moto's InvokeAsync (the deprecated asynchronous invoke) runs the function at once
# and answers with its result, which the SDKs cannot read when it is not a JSON object. The Lambda
# API reference, InvokeAsync: "Invokes a function asynchronously"; the response is Status 202 and no
# body. Here it is an asynchronous invoke, as Invoke with InvocationType Event is.
def apply_lambda_invoke_async_is_asynchronous() -> str:
    from moto.awslambda.responses import LambdaResponse

    patch = "lambda_invoke_async_is_asynchronous"
    invoke_async = original_of(LambdaResponse, "invoke_async", patch, ("self",))
    if invoke_async is None:
        return "already applied"
    require_attr(LambdaResponse, "backend", patch)

    @functools.wraps(invoke_async)
    def invoke_async_queued(self):
        from urllib.parse import unquote

        function_name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
        fn = self.backend.get_function(function_name, None)
        headers = {**dict(self.headers), "X-Amz-Invocation-Type": "Event"}
        fn.invoke(self.body, headers, {})
        return 202, {"status": 202}, ""

    LambdaResponse.invoke_async = mark_applied(invoke_async_queued, patch, invoke_async)
    return "InvokeAsync invokes asynchronously and answers Status 202"
