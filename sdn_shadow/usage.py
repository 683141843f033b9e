"""The error every command raises for a bad option value (the CLI prints it and exits 2)."""


class UsageError(ValueError):
    """A bad option value; the message is one line."""
