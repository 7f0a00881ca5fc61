"""The archive: meetings, transcripts (full-text searchable), people and
voiceprints, minutes, the outbox, pipeline jobs, incidents and web users, in
SQLite (``<home>/voicebot.db``) or PostgreSQL (``VOICEBOT_DATABASE_URL``).

    from voicebot.archive import open_archive
    with open_archive(settings) as db:
        hits = db.search('"plan de charge" budget*', since="2026-01-01")
"""

from voicebot.archive.outbox import OutboxMessage
from voicebot.archive.privacy import FORGOTTEN, PurgeReport
from voicebot.archive.query import Query
from voicebot.archive.query import parse as parse_query
from voicebot.archive.search import Hit
from voicebot.archive.store import Archive, open_archive
from voicebot.archive.times import parse_age

__all__ = ["Archive", "FORGOTTEN", "Hit", "OutboxMessage", "PurgeReport", "Query", "open_archive", "parse_age",
           "parse_query"]
