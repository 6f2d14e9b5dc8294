"""The one exception type the command line turns into a single clear line."""


class SqslabError(Exception):
    """A problem the user can act on; its message says what is wrong and what to do."""
