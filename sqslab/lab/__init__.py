"""The lab the notebooks and commands work in: a deployed stack with its clients,
outputs and timings (handle: :class:`~sqslab.lab.handle.Lab`), the notebooks' setup and
helpers (notebook), invoking the stack's functions (invoke), and the article's sequence
of invocations (article)."""
