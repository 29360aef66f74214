"""The one error type for bad input: its message is a single line a user can act on."""


class InputError(ValueError):
    """Bad input (file, folder, report, manifest). ``str(err)`` is one line, with no traceback."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
