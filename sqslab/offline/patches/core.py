"""The patches to moto's core: what moto keeps of every model it made, and of naming regions.

``models_untracked``. Upstream gap: every moto model (``BaseModel``) appends each instance it creates to
its class's ``instances_tracked`` list, for moto's own reset and state dump
(``/moto-api``), and nothing ever removes them: every SQS message sent, every copy
of it handed to a receive, every log event, every function copied by
ListFunctions stays in memory for the server's life. That was most of the offline
server's growth under a long load (about 10 MB a minute). The offline server serves
``/moto-api`` to no one, so nothing reads those lists; only S3's own objects are
still tracked (moto's S3 closes their buffers on a reset).

``regions_without_service_models``. Upstream gap: to list the regions of a service
whose backends it makes, moto asks a botocore session it keeps for the server's life
(``get_available_regions``). That session reads the service's whole API model for one
field of it (``metadata.endpointPrefix``) and keeps it, and keeps botocore's endpoint
data too (7 MB for endpoints.json alone, held beside the copy of each model moto's own
response serializer loads). The regions are now read from the same endpoint data, by
the same rule (each partition's regional endpoints of the service's endpoint prefix),
into a table of names; neither the data nor the models are kept.
"""

from __future__ import annotations

import threading

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of

STILL_TRACKED = ("FakeKey", "FakeMultipart")  # moto.s3.models: closed on a reset by moto itself


class _Forgotten(list):
    """An ``instances_tracked`` that keeps nothing."""

    def append(self, item) -> None:
        return None


def apply_models_untracked() -> str:
    from moto.core.common_models import BaseModel

    patch = "models_untracked"
    original = original_of(BaseModel, "__new__", patch)
    if original is None:
        return "already applied"
    if "instances_tracked" not in BaseModel.__new__.__code__.co_names:
        raise mismatch_error(patch, "BaseModel.__new__ no longer tracks instances")
    forgotten = _Forgotten()

    def __new__(cls, *args, **kwargs):
        if cls.__name__ not in STILL_TRACKED and cls.__dict__.get("instances_tracked") is not forgotten:
            cls.instances_tracked = forgotten  # this class keeps no instances from now on
        return original(cls, *args, **kwargs)

    BaseModel.__new__ = mark_applied(__new__, patch, original)
    return "model instances are no longer kept for moto's reset and state dump (both closed here), but S3's"


class RegionTable:
    """What botocore's ``Session.get_available_regions(service, partition)`` answers, for every
    partition in turn, from botocore's endpoint data read once: a service's endpoint prefix
    (its API model's ``metadata.endpointPrefix``, else its name), then each partition's endpoints of
    that prefix that are regions of the partition. Only region names are kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: list[tuple[str, dict[str, tuple[str, ...]]]] | None = None
        self._answers: dict[str, list[str]] = {}

    def _table(self) -> list[tuple[str, dict[str, tuple[str, ...]]]]:
        if self._partitions is None:
            import sys

            from botocore.loaders import create_loader  # botocore's data only: no configuration file is read

            data = create_loader().load_data("endpoints")
            self._partitions = [
                (p["partition"], {prefix: tuple(sys.intern(e) for e in service.get("endpoints", {})
                                                if e in p.get("regions", {}))
                                  for prefix, service in p.get("services", {}).items()})
                for p in data.get("partitions", [])
            ]
        return self._partitions

    @staticmethod
    def endpoint_prefix(service_name: str) -> str | None:
        """The service's endpoint prefix, from its API model read for that and let go; None for a
        service botocore does not know (botocore then lists no region)."""
        from botocore.exceptions import UnknownServiceError
        from botocore.loaders import create_loader

        try:
            model = create_loader().load_service_model(service_name, "service-2")
        except UnknownServiceError:
            return None
        return model.get("metadata", {}).get("endpointPrefix", service_name)

    def regions(self, service_name: str) -> list[str]:
        with self._lock:
            found = self._answers.get(service_name)
            if found is None:
                prefix = self.endpoint_prefix(service_name)
                found = [] if prefix is None else [r for _, services in self._table() for r in services.get(prefix, ())]
                self._answers[service_name] = found
            return list(found)


REGIONS = RegionTable()


def apply_regions_without_service_models() -> str:
    from moto.core.base_backend import AccountSpecificBackend

    patch = "regions_without_service_models"
    original = original_of(AccountSpecificBackend, "_generate_regions", patch)
    if original is None:
        return "already applied"
    code = getattr(getattr(original, "__wrapped__", original), "__code__", None)
    if code is None or not {"get_session", "get_available_partitions", "get_available_regions"} <= set(code.co_names):
        raise mismatch_error(patch, "AccountSpecificBackend._generate_regions no longer asks a botocore session")

    def _generate_regions(self, service_name: str) -> list[str]:
        return REGIONS.regions(service_name)

    AccountSpecificBackend._generate_regions = mark_applied(_generate_regions, patch, original)
    return "a service's regions are read from botocore's endpoint data into a table of names"
