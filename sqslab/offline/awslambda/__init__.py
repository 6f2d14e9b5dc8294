"""Lambda, as the offline emulator runs it: the invoke service (:mod:`.service`) on a pool of
execution environments (:mod:`.pool`, :mod:`.environment`, the worker script ``worker.py``,
:mod:`.memory`, :mod:`.runtime_libs`), code packages and configuration as Lambda accepts them
(:mod:`.code_package`, :mod:`.function_config`), and the SQS event source mappings: Lambda's
checks (:mod:`.mapping_checks`), the event and its batches (:mod:`.batching`), and the pollers
(:mod:`.event_source`)."""
