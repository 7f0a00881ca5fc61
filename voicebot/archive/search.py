"""Searching the transcripts, and finding speakers by what a user typed.

The query language is in ``query.py`` (any text is a valid query); the
database matches and ranks (``backends.py``: FTS5 BM25 on SQLite, tsvector
ts_rank_cd on PostgreSQL); ``snippets.py`` marks the matching words.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from voicebot.archive.access import Viewer
from voicebot.archive.backends import Filters
from voicebot.archive.base import ArchivePart
from voicebot.archive.erase import fold
from voicebot.archive.query import Query, parse
from voicebot.archive.snippets import highlight
from voicebot.archive.times import time_bound


@dataclass
class Hit:
    """A search result: one transcript segment.

    ``snippet`` is the segment's text around the hit, each matching word
    wrapped in ``[`` and ``]``; ``fragments`` is the same snippet as
    (text, is_hit) pairs, for rendering without parsing the brackets.
    ``score``: higher is better (BM25 on SQLite, ts_rank_cd on PostgreSQL)."""

    meeting_id: str
    title: str
    started_at: str
    speaker: str | None
    start: float
    end: float
    text: str
    snippet: str
    score: float
    segment_id: int = 0
    fragments: list[tuple[str, bool]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fragments"] = [[t, h] for t, h in self.fragments]
        return data


class Search(ArchivePart):
    """Full-text search over the segments, and the speaker names in the archive."""

    def search(self, query: str | Query, *, speaker: str | None = None, meeting: str | None = None,
               since: str | datetime | None = None, until: str | datetime | None = None,
               limit: int = 20, viewer: Viewer | None = None) -> list[Hit]:
        """Segments matching the query, best first. Any text is a valid query (see archive.query).
        ``viewer``: only hits in the meetings this web user may see (access.py)."""
        parsed = query if isinstance(query, Query) else parse(query)
        filters = self.search_filters(speaker=speaker, meeting=meeting, since=since, until=until, viewer=viewer)
        if parsed.empty or limit <= 0 or filters is None:
            return []
        hits = []
        for row in self.backend.search_rows(parsed, filters, int(limit)):
            fragments = highlight(row["text"], parsed)
            snippet = "".join(f"[{t}]" if hit else t for t, hit in fragments)
            hits.append(Hit(meeting_id=row["meeting_id"], title=row["title"], started_at=row["started_at"],
                            speaker=row["speaker"], start=row["start_time"], end=row["end_time"], text=row["text"],
                            snippet=snippet, score=float(row["score"]), segment_id=row["segment_id"],
                            fragments=fragments))
        return hits

    def search_filters(self, *, speaker: str | None = None, meeting: str | None = None,
                       since: str | datetime | None = None, until: str | datetime | None = None,
                       viewer: Viewer | None = None) -> Filters | None:
        """The filters of a search (and of ``retrieve``, vectors.py); None when no segment can match
        (no speaker of that name among the meetings ``viewer`` may see)."""
        filters = Filters(meeting=meeting or None, since=time_bound(since, end=False),
                          until=time_bound(until, end=True),
                          visible=self.visible_sql(viewer) if viewer is not None and not viewer.admin else None)
        if speaker:
            filters.speakers = self.match_speakers(speaker, viewer=viewer)
            if not filters.speakers:
                return None
        return filters

    def speakers(self, *, viewer: Viewer | None = None) -> list[str]:
        """Every speaker name in the archive (``viewer``: in the meetings this web user may see)."""
        names: dict[str, None] = {}
        visible, params = self.visible_sql(viewer) if viewer is not None else ("1 = 1", [])
        for row in self.backend.query(f"SELECT m.speakers FROM meetings m WHERE {visible}", params):
            names.update(dict.fromkeys(json.loads(row["speakers"] or "[]")))
        return sorted(names, key=fold)

    def match_speakers(self, text: str, *, viewer: Viewer | None = None) -> list[str]:
        """Speaker names matching what a user typed: the whole name or some of its words,
        ignoring case and accents ("zoe" finds "Zoé Martin")."""
        wanted = fold(text).split()
        if not wanted:
            return []
        return [name for name in self.speakers(viewer=viewer) if set(wanted) <= set(fold(name).split()) or fold(name) == " ".join(wanted)]

