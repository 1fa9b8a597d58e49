"""User-facing errors: one line naming the thing that is wrong and the fix."""


class VjganError(Exception):
    """An error the CLI prints as one line (no traceback) before exiting non-zero.

    The message must name the file, field, device or flag at fault and say what to do instead.
    """
