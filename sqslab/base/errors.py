"""The one exception type the command line turns into a single clear line."""


class SqslabError(Exception):
    """A problem the user can act on; its message says what is wrong and what to do."""


class DeployError(SqslabError):
    """A deploy (or its template) that failed; ``details`` holds every line, ``str()`` the first."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or [message]
