"""The regions botocore knows, from its endpoint data read once: what the emulator asks of it.

Two questions: which regions exist, in any partition (a request signed for another is
refused, as AWS refuses it: :mod:`sqslab.offline.auth.middleware`), and which regions a service
is offered in, partition by partition, as botocore's ``Session.get_available_regions``
answers (moto makes a backend for each: patch ``regions_without_service_models``). Only
region names are kept, not the endpoint data (7 MB) nor any service's API model.
"""

from __future__ import annotations

import sys
import threading


class RegionTable:
    """Each partition's regions, and each service's regional endpoints in it, by endpoint prefix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: list[tuple[frozenset[str], dict[str, tuple[str, ...]]]] | None = None
        self._answers: dict[str, list[str]] = {}

    def _table(self) -> list[tuple[frozenset[str], dict[str, tuple[str, ...]]]]:
        if self._partitions is None:
            from botocore.loaders import create_loader  # botocore's data only: no configuration file is read

            data = create_loader().load_data("endpoints")  # a loader of its own, let go with what it read
            table = []
            for partition in data.get("partitions", []):
                names = frozenset(sys.intern(r) for r in partition.get("regions", {}))
                table.append((names, {prefix: tuple(sys.intern(e) for e in service.get("endpoints", {}) if e in names)
                                      for prefix, service in partition.get("services", {}).items()}))
            self._partitions = table
        return self._partitions

    def all_regions(self) -> frozenset[str]:
        """Every region of every partition."""
        with self._lock:
            return frozenset().union(*(names for names, _ in self._table()))

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
        """What ``get_available_regions(service_name, partition)`` lists, for every partition in turn:
        the partition's endpoints of the service's endpoint prefix that are regions of the partition."""
        with self._lock:
            found = self._answers.get(service_name)
            if found is None:
                prefix = self.endpoint_prefix(service_name)
                found = [] if prefix is None else [r for _, services in self._table() for r in services.get(prefix, ())]
                self._answers[service_name] = found
            return list(found)


TABLE = RegionTable()
