"""The one place that makes boto3 sessions and clients.

Two targets:

``offline`` (the default)
    The embedded emulator on loopback. Clients get a fixed loopback endpoint, the
    offline server's own credentials (made at random for its state directory,
    see :mod:`sqslab.offline.auth.identity`; the server accepts nothing else) and a
    fixed region; the user's real credentials, profile, config file and proxy
    settings are never read, so an offline client cannot send a request anywhere
    but 127.0.0.1. The emulator must be running: the entry
    points (the ``sqslab`` command, ``sqslab tutorial``, a notebook's setup cell)
    start it with :func:`start_offline`; resolving the target only finds it.

``aws``
    A real AWS account, only by explicit opt-in: ``SQSLAB_TARGET=aws`` in the
    environment or ``target="aws"`` as an argument. Credentials, profile and
    region come from the usual AWS configuration.

Clients are made once per target, service and configuration, and reused.
Nothing here runs at import time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from sqslab.base import account
from sqslab.base.errors import SqslabError

TARGETS = ("offline", "aws")
OFFLINE_REGION = account.REGION
OFFLINE_ACCOUNT = account.ACCOUNT


@dataclass(frozen=True)
class Target:
    """Where requests go: ``name`` is ``offline`` or ``aws``."""

    name: str
    region: str
    endpoint_url: str | None = None
    profile: str | None = None

    @property
    def offline(self) -> bool:
        return self.name == "offline"


def target_name(target: str | Target | None = None) -> str:
    """The target asked for: the argument, else ``SQSLAB_TARGET``, else offline."""
    if isinstance(target, Target):
        return target.name
    name = (target or os.environ.get("SQSLAB_TARGET") or "offline").strip().lower()
    if name not in TARGETS:
        raise SqslabError(
            f"unknown target {name!r}: use 'offline' (the default) or 'aws' "
            "(set SQSLAB_TARGET=aws or pass --target aws to opt in to a real account)"
        )
    return name


def resolve(
    target: str | Target | None = None,
    *,
    region: str | None = None,
    profile: str | None = None,
) -> Target:
    """Decide the target. Offline, the emulator must be running (see :func:`start_offline`)."""
    if isinstance(target, Target):
        return target
    name = target_name(target)
    if name == "offline":
        from sqslab.offline.server import control as server

        report = server.status()
        if not report["running"]:
            if report.get("pid"):
                raise SqslabError(report["note"])
            raise SqslabError("the offline server is not running: start it with `sqslab offline start` "
                              "(from Python: sqslab.target.start_offline())")
        return Target("offline", OFFLINE_REGION, endpoint_url=report["endpoint_url"])
    return Target(
        "aws",
        _known_region(region or _aws_default_region(profile)),
        endpoint_url=None,
        profile=profile or os.environ.get("AWS_PROFILE"),
    )


def start_offline(target: str | Target | None = None) -> Target:
    """For entry points: resolve the target, starting the emulator first when the target
    is offline and none is running (saying so in one line)."""
    if not isinstance(target, Target) and target_name(target) == "offline":
        from sqslab.offline.server import control as server

        return Target("offline", OFFLINE_REGION, endpoint_url=server.ensure_running())
    return resolve(target)


def _aws_default_region(profile: str | None) -> str:
    import boto3

    # botocore reads AWS_DEFAULT_REGION and the profile; AWS_REGION is what the other SDKs read.
    region = boto3.Session(profile_name=profile).region_name or os.environ.get("AWS_REGION")
    if not region:
        raise SqslabError(
            "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION) "
            "or a region in your AWS profile"
        )
    return region


def _known_region(region: str) -> str:
    """``region``, if it is one where SQS runs as botocore knows the regions; else one line."""
    import boto3

    session = boto3.Session(region_name="us-east-1")
    known = {r for partition in session.get_available_partitions()
             for r in session.get_available_regions("sqs", partition_name=partition)}
    if region not in known:
        raise SqslabError(f"AWS region {region!r} is not one where SQS runs, as this boto3 knows them: set "
                          "AWS_REGION to one such as us-east-1 or eu-west-1 (a region newer than your boto3 "
                          "needs `pip install -U boto3`)")
    return region


_LOADER = None
_LOADER_LOCK = threading.Lock()
SERVICES = ("sqs", "lambda", "logs", "cloudformation", "s3", "sts", "iam", "dynamodb", "sns")  # what the series calls


def _with_shared_loader(botocore_session):
    """``botocore_session`` reading service models through one loader per process: each model
    file is then read once, not once per client (7 clients: 0.05 s instead of 0.5 s)."""
    global _LOADER
    import botocore.loaders

    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
    botocore_session.register_component("data_loader", _LOADER)
    return botocore_session


def _boto3_session(botocore_session, **kwargs):
    import boto3

    made = boto3.Session(botocore_session=_with_shared_loader(botocore_session), **kwargs)
    paths = _LOADER.search_paths  # boto3 adds its own data folder for every session made: keep one
    paths[:] = list(dict.fromkeys(paths))
    return made


def warm_models(services=SERVICES) -> None:
    """Read the service models the series uses, so the first clients of a notebook are quick.
    Makes clients for an unused loopback address and sends nothing."""
    for service in services:
        _boto3_session(offline_botocore_session(), aws_access_key_id="warm", aws_secret_access_key="warm",
                       region_name=OFFLINE_REGION).client(service, endpoint_url="http://127.0.0.1:9")


def offline_botocore_session(region: str = OFFLINE_REGION):
    """A botocore session sealed off from the user's AWS configuration.

    The profile is not taken from ``AWS_PROFILE``; the config and credentials
    files are the null device; the region is fixed. Its endpoint resolver knows each
    service's endpoint in that region only (:func:`endpoint_data_of_region`).
    """
    import botocore.session

    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("config_file", os.devnull)
    session.set_config_variable("credentials_file", os.devnull)
    session.set_config_variable("region", region)
    components = getattr(session, "_internal_components", None)  # botocore's own; absent: the whole data
    if components is not None and region == OFFLINE_REGION:
        components.lazy_register_component("endpoint_resolver", _offline_endpoint_resolver)
    return session


_OFFLINE_RESOLVER = None


def endpoint_data_of_region(data: dict, region: str) -> dict:
    """botocore's endpoint data (endpoints.json) reduced to what resolving an endpoint in ``region``
    reads: every partition and service as they are, each service's endpoints cut to ``region``'s and
    its partition endpoint's (a global service's, such as IAM's ``aws-global``)."""
    def service(data_of_service: dict) -> dict:
        endpoints = data_of_service.get("endpoints", {})
        kept = {name: endpoints[name] for name in (region, data_of_service.get("partitionEndpoint"))
                if name in endpoints}
        return {**data_of_service, "endpoints": kept}

    return {**data, "partitions": [{**p, "services": {name: service(s) for name, s in p.get("services", {}).items()}}
                                   for p in data.get("partitions", [])]}


def _offline_endpoint_resolver():
    """The endpoint resolver of offline sessions, made once per process. An offline client is given
    its endpoint; what it reads of this data is its signing region and signature versions, in the one
    offline region. botocore's whole endpoint data stays in memory as long as a client does (7 MB,
    in every kernel); reduced, well under 1 MB."""
    global _OFFLINE_RESOLVER
    with _LOADER_LOCK:
        if _OFFLINE_RESOLVER is None:
            from botocore.loaders import create_loader
            from botocore.regions import EndpointResolver

            loader = create_loader()  # read once and let go: a loader keeps what it read
            data, path = loader.load_data_with_path("endpoints")
            _OFFLINE_RESOLVER = EndpointResolver(endpoint_data_of_region(data, OFFLINE_REGION),
                                                 uses_builtin_data=loader.is_builtin_path(path))
    return _OFFLINE_RESOLVER


def offline_credentials():
    """The offline server's credentials (of the state directory in use: ``$SQSLAB_HOME``),
    made there if no server has started in it yet (it will read the same file):
    an :class:`sqslab.offline.auth.identity.Credentials`."""
    from sqslab.offline.auth import identity
    from sqslab.offline.server import control as server

    return identity.ensure_credentials(server.state_dir())


def session(target: str | Target | None = None, **kwargs):
    """A boto3 session for the target."""

    tgt = resolve(target, **kwargs)
    if tgt.offline:
        creds = offline_credentials()
        return _boto3_session(offline_botocore_session(tgt.region), aws_access_key_id=creds.access_key,
                              aws_secret_access_key=creds.secret_key, region_name=tgt.region)
    import botocore.session

    return _boto3_session(botocore.session.Session(profile=tgt.profile), region_name=tgt.region)


def client_config(tgt: Target, **overrides):
    """The botocore Config for a client of ``tgt``.

    Offline: no proxies (an ``HTTP_PROXY`` in the environment must not carry
    loopback traffic elsewhere), few retries, and a read timeout longer than
    the longest Lambda invoke (900 s) so long polls and slow handlers are not cut.
    """
    from botocore.config import Config

    if tgt.offline:
        base = dict(
            proxies={},
            retries={"max_attempts": 2, "mode": "standard"},
            read_timeout=910,
            connect_timeout=5,
        )
    else:
        base = dict(read_timeout=910, retries={"mode": "standard"})
    base.update(overrides)
    return Config(**base)


_SERVICES: list[str] = []


def _check_service(service) -> str:
    """``service`` as botocore names it; one line for anything else (not a string, or no such service)."""
    if not isinstance(service, str) or not service.strip():
        raise SqslabError(f"an AWS service is named by a string such as 'sqs' or 'lambda', not {service!r}")
    if not _SERVICES:
        from botocore.loaders import create_loader  # the models only: no configuration file is read

        _SERVICES.extend(create_loader().list_available_services("service-2"))
    if service not in _SERVICES:
        import difflib

        near = difflib.get_close_matches(service, _SERVICES, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else " (the series uses sqs, lambda, logs, iam, cloudformation)"
        raise SqslabError(f"no AWS service is called {service!r}{hint}")
    return service


def _make(kind: str, service: str, target, overrides: dict):
    _check_service(service)
    tgt = resolve(target)
    return getattr(session(tgt), kind)(service, endpoint_url=tgt.endpoint_url, config=client_config(tgt, **overrides))


_CLIENTS: dict[tuple, object] = {}
_CLIENTS_LOCK = threading.Lock()


def client(service: str, target: str | Target | None = None, **config_overrides):
    """A boto3 client for ``service`` on the target (offline unless opted in).

    Made once per resolved target, service and configuration, then reused: a client
    is thread-safe, and making one costs a session and a model load (about 0.1 s)."""
    _check_service(service)
    tgt = resolve(target)
    key = (tgt, service, tuple(sorted((k, repr(v)) for k, v in config_overrides.items())))
    with _CLIENTS_LOCK:
        made = _CLIENTS.get(key)
        if made is None:
            made = _CLIENTS[key] = _make("client", service, tgt, config_overrides)
    return made


def new_client(service: str, target: str | Target | None = None, **config_overrides):
    """A client of its own, not the shared one :func:`client` returns: for code that
    registers event handlers on it (they must not reach every other caller)."""
    return _make("client", service, resolve(target), config_overrides)


def extended_sqs_client(bucket: str, target: str | Target | None = None, **config_overrides):
    """An SQS client of the SQS Extended Client Library (``sqs_extended_client``) on the target: a
    body over the library's threshold (262,144 bytes) is put in S3 bucket ``bucket`` and the message
    carries a pointer to it. The library gives every client an S3 client of its own session, made
    with no endpoint; here it is this target's S3 client, so offline it too talks to loopback only."""
    from sqs_extended_client import SQSExtendedClientSession

    tgt = resolve(target)
    if tgt.offline:
        creds = offline_credentials()
        made = SQSExtendedClientSession(aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                                        region_name=tgt.region,
                                        botocore_session=_with_shared_loader(offline_botocore_session(tgt.region)))
    else:
        import botocore.session

        made = SQSExtendedClientSession(region_name=tgt.region,
                                        botocore_session=_with_shared_loader(botocore.session.Session(profile=tgt.profile)))
    sqs = made.client("sqs", endpoint_url=tgt.endpoint_url, config=client_config(tgt, **config_overrides))
    sqs.s3_client = client("s3", tgt)  # an instance attribute: the class's own S3 client is never used
    sqs.large_payload_support = bucket
    sqs.use_legacy_attribute = False
    return sqs


def resource(service: str, target: str | Target | None = None, **config_overrides):
    """A boto3 resource for ``service`` on the target."""
    return _make("resource", service, target, config_overrides)
