"""What every part of the archive shares.

The ``Archive`` class (``store.py``) is put together from one part per concern
(``meetings.py``, ``search.py``, ``people.py``, ``outbox.py``, ``jobs.py``,
``privacy.py``); each part is a mixin that reaches the database through
``self.backend`` and the settings through ``self.settings``, both set by
``Archive.__init__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voicebot.archive.backends import Backend
    from voicebot.config import Settings


class ArchivePart:
    """A part of the archive: methods over ``self.backend`` (the database) and ``self.settings``."""

    backend: Backend
    settings: Settings
