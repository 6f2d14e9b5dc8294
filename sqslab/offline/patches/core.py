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
response serializer loads). The regions now come from :mod:`sqslab.offline.regions`, read from
the same endpoint data by the same rule into a table of names; neither the data nor the
models are kept.
"""

from __future__ import annotations

from sqslab.offline import regions
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
        return regions.TABLE.regions(service_name)

    AccountSpecificBackend._generate_regions = mark_applied(_generate_regions, patch, original)
    return "a service's regions are read from botocore's endpoint data into a table of names"
