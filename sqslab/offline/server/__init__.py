"""The embedded offline AWS: moto's server in a background process of its own, on
loopback only, answering only requests signed with its own credentials.

:mod:`~sqslab.offline.server.control` starts, stops and inspects it (the learner's
``sqslab offline start|stop|status``, and every command that needs it);
:mod:`~sqslab.offline.server.process` is the process itself; :mod:`~sqslab.offline.server.info`
is what both know of a server (its state file, log and port).
"""
