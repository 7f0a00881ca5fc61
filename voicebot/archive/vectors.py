"""The semantic index: passages of the transcripts and their vectors, and hybrid retrieval.

A passage is a window of consecutive segments of one meeting (a speaker's turn, or a few short
turns together, about 60 words: enough context for its meaning, short enough to cite one moment).
Its text stays in the segments (a renamed speaker or a redacted name shows at once); the
``passages`` table keeps which segments it spans, its times, and its vector (``voicebot.embedding``, int8).
The database drops a passage with any of its segments and when one of their texts changes
(migration 0004): erasure leaves no vector behind. ``index_passages`` embeds the meetings with
segments that no passage spans (the pipeline's archive stage, ``meetings import``, after
``forget_person``, ``meetings reindex``).

``retrieve`` ranks passages three ways: ``fts`` (the full-text index, BM25 / ts_rank_cd, each
matching segment standing for its passage), ``semantic`` (cosine of the question's vector with
every passage's, brute force in numpy: no vector extension needed in SQLite or PostgreSQL) and
``hybrid`` (reciprocal rank fusion of the two lists). All three take the filters of search
(speaker, meeting, dates) and the access rule (``viewer``, access.py), applied in SQL before any
vector is read: a passage from a meeting the user may not see is never a candidate. A speaker
filter (or the speakers a question names) keeps the passages where they speak, found from their
segments (``_spoken_by``); the vectors are read and scored once per question.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable

from voicebot.archive.backends import Filters
from voicebot.archive.query import Query
from voicebot.archive.search import Search

if TYPE_CHECKING:
    import numpy as np

    from voicebot.archive.access import Viewer

TARGET_WORDS = 60  # a passage ends at the first segment end past this many words
MAX_WORDS = 120  # and before a segment that would take it past this (one long segment stays whole)
TURN_WORDS = 25  # a new speaker starts a new passage once the passage has this many words
DEPTH = 50  # candidates each ranking gives the fusion
RRF_K = 60  # reciprocal rank fusion: 1 / (RRF_K + rank), the constant of Cormack et al. (2009)
MODES = ("hybrid", "semantic", "fts")


@dataclass
class Line:
    """One segment of a passage."""

    speaker: str | None
    start: float
    end: float
    text: str


@dataclass
class Passage:
    """A retrieved passage: where it is (meeting, times), who spoke, what was said, how it ranked.

    ``ranks``: its rank (1 = best) in each ranking that found it ("fts", "semantic")."""

    meeting_id: str
    title: str
    started_at: str
    start: float
    end: float
    lines: list[Line]
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    passage_id: int | None = None  # None: a segment of a meeting not embedded yet (found by full text)
    segment_ids: tuple[int, int] = (0, 0)  # first and last

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(line.speaker for line in self.lines if line.speaker))

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["speakers"] = self.speakers
        data["text"] = self.text
        return data


def windows(segments: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Segments (in order; keys speaker, text) grouped into passages."""
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    words = 0
    for segment in segments:
        n = len(segment["text"].split())
        if current and (words + n > MAX_WORDS or (segment["speaker"] != current[-1]["speaker"] and words >= TURN_WORDS)):
            groups.append(current)
            current, words = [], 0
        current.append(segment)
        words += n
        if words >= TARGET_WORDS:
            groups.append(current)
            current, words = [], 0
    if current:
        groups.append(current)
    return groups


def fused(rankings: dict[str, list[Any]], k: int = RRF_K) -> list[tuple[Any, float, dict[str, int]]]:
    """Reciprocal rank fusion: (key, score, ranks) best first; a key ranked r in a list gets 1/(k + r)."""
    scores: dict[Any, float] = {}
    ranks: dict[Any, dict[str, int]] = {}
    for name, keys in rankings.items():
        for rank, key in enumerate(keys, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(key, {})[name] = rank
    order = sorted(scores, key=lambda key: -scores[key])
    return [(key, scores[key], ranks[key]) for key in order]


class Vectors(Search):
    """Passages, their vectors, and retrieval by meaning and by words. Needs Search (filters, full text)."""

    # indexing ------------------------------------------------------------------------------------
    def meetings_to_embed(self, meeting_ids: Iterable[str] | None = None) -> list[str]:
        """Meetings (of ``meeting_ids``, or all) with a segment that no passage spans: not embedded
        yet, or some of their passages went with a segment erased or redacted."""
        sql = ("SELECT m.id FROM meetings m WHERE EXISTS (SELECT 1 FROM segments s WHERE s.meeting_id = m.id AND "
               "NOT EXISTS (SELECT 1 FROM passages p WHERE p.meeting_id = m.id AND s.id BETWEEN p.first_segment "
               "AND p.last_segment))")
        if meeting_ids is None:
            return [r["id"] for r in self.backend.query(sql + " ORDER BY m.started_utc")]
        return [mid for mid in dict.fromkeys(meeting_ids) if self.backend.one(sql + " AND m.id = ?", (mid,))]

    def index_passages(self, meeting_ids: Iterable[str] | None = None) -> int:
        """Cut the meetings ``meetings_to_embed`` finds into passages and embed them (the whole meeting
        again); the number of passages stored.

        The model runs outside any transaction; the passages of a meeting are written in one, and
        only if its segments are still the ones embedded (else it is left for the next call)."""
        from voicebot import embedding

        stored = 0
        for meeting_id in self.meetings_to_embed(meeting_ids):
            segments = self.backend.query("SELECT id, speaker, start_time, end_time, text FROM segments "
                                          "WHERE meeting_id = ? ORDER BY position", (meeting_id,))
            groups = windows(segments)
            vectors = embedding.encode([" ".join(s["text"] for s in group) for group in groups])
            rows = [(meeting_id, group[0]["id"], group[-1]["id"], float(group[0]["start_time"]),
                     float(max(s["end_time"] for s in group)), embedding.MODEL, embedding.to_bytes(vector))
                    for group, vector in zip(groups, vectors)]
            with self.backend.transaction():
                now = self.backend.query("SELECT id, text FROM segments WHERE meeting_id = ? ORDER BY position",
                                         (meeting_id,))
                if _fingerprint(now) != _fingerprint(segments):
                    continue  # changed while the model ran: the next call embeds what is there then
                self.backend.execute("DELETE FROM passages WHERE meeting_id = ?", (meeting_id,))
                self.backend.executemany(
                    "INSERT INTO passages (meeting_id, first_segment, last_segment, start_time, end_time, model, "
                    "vector) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            stored += len(rows)
        return stored

    def meetings_without_passages(self) -> int:
        """Transcribed meetings with no passage at all (archived before ask existed: `meetings reindex`)."""
        return int(self.backend.value(
            "SELECT COUNT(*) AS n FROM meetings m WHERE EXISTS (SELECT 1 FROM segments s WHERE s.meeting_id = m.id) "
            "AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.meeting_id = m.id)") or 0)

    def passage_count(self, meeting_id: str | None = None) -> int:
        if meeting_id is None:
            return int(self.backend.value("SELECT COUNT(*) AS n FROM passages") or 0)
        return int(self.backend.value("SELECT COUNT(*) AS n FROM passages WHERE meeting_id = ?", (meeting_id,)) or 0)

    # retrieval -----------------------------------------------------------------------------------
    def retrieve(self, query: Query, vector: np.ndarray | None, *, mode: str = "hybrid", speaker: str | None = None,
                 meeting: str | None = None, since: Any = None, until: Any = None, limit: int = 5,
                 named: list[str] | None = None, viewer: Viewer | None = None) -> list[Passage]:
        """The passages best answering a question, best first (see the module's docstring).

        ``query``: the question's words for the full-text ranking; ``vector``: its embedding for the
        semantic one (None: full text only). ``named``: speakers the question names ("what did Chloé
        say..."): each ranking also runs on their passages alone, and the fusion counts both, so
        their passages come first among equals. ``viewer``: only passages of meetings they may see."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        filters = self.search_filters(speaker=speaker, meeting=meeting, since=since, until=until, viewer=viewer)
        if filters is None or limit <= 0:
            return []
        narrowed = None
        if named:
            narrowed = replace(filters, speakers=[n for n in named if n in (filters.speakers or named)])
        rankings: dict[str, list[Any]] = {}
        scored = None  # the semantic scores, computed once: the two rankings differ only by speakers
        for suffix, where in (("", filters), (" (named)", narrowed if narrowed and narrowed.speakers else None)):
            if where is None:
                continue
            if mode in ("hybrid", "fts") and not query.empty:
                rankings["fts" + suffix] = self._fts_ranking(query, where)
            if mode in ("hybrid", "semantic") and vector is not None:
                scored = scored if scored is not None else self._semantic_scores(vector, where)
                spoken = self._spoken_by(where.speakers, where.meeting) if where.speakers else None
                rankings["semantic" + suffix] = _best(*scored, spoken)
        found = fused(rankings)[:limit]
        return [self._passage(key, score, ranks) for key, score, ranks in found]

    def _fts_ranking(self, query: Query, filters: Filters) -> list[Any]:
        """Passage ids (or ("segment", id) where a meeting has no passages) in full-text order."""
        keys: list[Any] = []
        for row in self.backend.search_rows(query, filters, DEPTH):
            found = self.backend.one("SELECT id FROM passages WHERE meeting_id = ? AND first_segment <= ? "
                                     "AND last_segment >= ?", (row["meeting_id"], row["segment_id"], row["segment_id"]))
            key = found["id"] if found else ("segment", row["segment_id"])
            if key not in keys:
                keys.append(key)
        return keys

    def _semantic_scores(self, vector: np.ndarray, filters: Filters) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, cosine of each with ``vector``) of the passages the filters allow, speakers aside
        (``_spoken_by``): every vector read once, in one query."""
        import numpy as np

        from voicebot import embedding

        where, params = Filters(since=filters.since, until=filters.until, visible=filters.visible).where()
        if filters.meeting:
            where += " AND p.meeting_id = ?"
            params.append(filters.meeting)
        rows = self.backend.query(f"SELECT p.id, p.vector FROM passages p JOIN meetings m ON m.id = p.meeting_id "
                                  f"WHERE p.model = ?{where}", [embedding.MODEL, *params])
        ids = np.array([r["id"] for r in rows], dtype=np.int64)
        return ids, embedding.similarities([bytes(r["vector"]) for r in rows], vector)

    def _spoken_by(self, speakers: list[str], meeting: str | None = None) -> np.ndarray:
        """The ids of the passages where one of ``speakers`` says something (of ``meeting`` only, if set).

        From the speakers' segments (their index), each to the passage holding it: the one that starts
        last at or before it (a meeting's segments have consecutive ids, its passages do not overlap),
        if it reaches that far. One index seek per segment, where a test per passage read them all."""
        import numpy as np

        sql = ("SELECT DISTINCT p.id FROM segments s JOIN passages p ON p.id = (SELECT q.id FROM passages q WHERE "
               "q.first_segment <= s.id ORDER BY q.first_segment DESC LIMIT 1) "
               f"WHERE s.speaker IN ({', '.join('?' for _ in speakers)}) AND p.last_segment >= s.id "
               "AND p.meeting_id = s.meeting_id")
        params: list[Any] = list(speakers)
        if meeting:
            sql += " AND s.meeting_id = ?"
            params.append(meeting)
        return np.array([r["id"] for r in self.backend.query(sql, params)], dtype=np.int64)

    def _passage(self, key: Any, score: float, ranks: dict[str, int]) -> Passage:
        if isinstance(key, tuple):  # a lone segment
            span = self.backend.one("SELECT meeting_id, id AS first_segment, id AS last_segment FROM segments "
                                    "WHERE id = ?", (key[1],))
        else:
            span = self.backend.one("SELECT meeting_id, first_segment, last_segment FROM passages WHERE id = ?", (key,))
        rows = self.backend.query(
            "SELECT s.id, s.speaker, s.start_time, s.end_time, s.text, m.title, m.started_at FROM segments s "
            "JOIN meetings m ON m.id = s.meeting_id WHERE s.meeting_id = ? AND s.id BETWEEN ? AND ? ORDER BY s.position",
            (span["meeting_id"], span["first_segment"], span["last_segment"]))
        lines = [Line(r["speaker"], float(r["start_time"]), float(r["end_time"]), r["text"]) for r in rows]
        return Passage(meeting_id=span["meeting_id"], title=rows[0]["title"] or "", started_at=rows[0]["started_at"],
                       start=lines[0].start, end=max(line.end for line in lines), lines=lines, score=score,
                       ranks=ranks, passage_id=None if isinstance(key, tuple) else int(key),
                       segment_ids=(int(span["first_segment"]), int(span["last_segment"])))


def _best(ids: np.ndarray, scores: np.ndarray, among: np.ndarray | None = None) -> list[int]:
    """The ``DEPTH`` passage ids of highest score, best first (of those in ``among``, if given)."""
    import numpy as np

    if among is not None:
        keep = np.isin(ids, among)
        ids, scores = ids[keep], scores[keep]
    if not len(ids):
        return []
    depth = min(DEPTH, len(ids))
    best = np.argpartition(-scores, depth - 1)[:depth]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [int(ids[i]) for i in best]


def _fingerprint(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps([[r["id"], r["text"]] for r in rows], ensure_ascii=False).encode()).hexdigest()
