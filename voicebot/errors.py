"""Errors a user can act on.

Library code raises ``UserError`` (or a subclass) when the input or the setup
is wrong; its message says what is wrong and what to do. The CLI prints it as
one line and exits non-zero, without a traceback. Anything else is a bug.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: bad input, missing model, bad setting."""

    exit_code = 2


class AudioError(UserError):
    """An audio file that cannot be read (missing, empty, corrupt, not audio)."""


class ModelError(UserError):
    """A model that is missing, corrupt or of the wrong kind."""
