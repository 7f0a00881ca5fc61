"""The two databases behind the archive, and everything that differs between them.

The archive's parts (``meetings.py``, ``search.py``... see ``store.py``) write
portable SQL with ``?`` placeholders; a backend runs it (PostgreSQL gets
``%s``), owns the connection and transactions, applies the numbered migrations
(``migrations/<backend>/NNNN_name.sql``), and renders the parts that have no
common syntax: full-text matching, ranking and snippets,
and the clean-up that makes erased text really gone.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from voicebot.archive.query import Query, to_fts5
from voicebot.errors import UserError

_SEARCH_COLUMNS = ("s.id AS segment_id, s.meeting_id, s.start_time, s.end_time, s.speaker, s.text, "
                   "m.title, m.started_at")


@dataclass
class Filters:
    """What narrows a search: one meeting, some speaker names, a time range (UTC ISO strings), and
    the meetings a user may see (``visible``: a condition on m, with its parameters; see access.py)."""

    meeting: str | None = None
    speakers: list[str] | None = None
    since: str | None = None
    until: str | None = None
    visible: tuple[str, list[Any]] | None = None

    def __bool__(self) -> bool:
        return bool(self.meeting or self.speakers or self.since or self.until or self.visible)

    def where(self) -> tuple[str, list[Any]]:
        """`` AND ...`` conditions on s (segments) and m (meetings), and their parameters."""
        sql, params = "", []
        if self.meeting:
            sql += " AND s.meeting_id = ?"
            params.append(self.meeting)
        if self.speakers:
            sql += f" AND s.speaker IN ({', '.join('?' for _ in self.speakers)})"
            params.extend(self.speakers)
        if self.since:
            sql += " AND m.started_utc >= ?"
            params.append(self.since)
        if self.until:
            sql += " AND m.started_utc < ?"
            params.append(self.until)
        if self.visible:
            sql += f" AND {self.visible[0]}"
            params.extend(self.visible[1])
        return sql, params


@dataclass
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The numbered migration files of a backend, in order."""
    folder = resources.files("voicebot.archive") / "migrations" / backend
    found = []
    for entry in folder.iterdir():
        match = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"archive migrations for {backend} are not numbered 1..n: {[m.version for m in found]}")
    return found


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Backend:
    """A connection to one database; portable SQL in, rows as dicts out."""

    name = ""
    placeholder = "?"
    # Ranking every match of a very common word costs time in proportion to the archive: beyond
    # this many matches, the best hits are chosen among the most recently stored ``rank_cap``
    # matches (set per backend so that ranking them takes about 10 ms).
    rank_cap = 10_000

    def __init__(self) -> None:
        self._depth = 0
        self._lock = threading.RLock()
        self.applied: list[int] = []  # the migrations ``migrate`` applied just now

    # -- running SQL ------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql

    def _cursor(self):  # pragma: no cover - each backend defines it
        raise NotImplementedError

    def _params(self, params: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._cursor()
            cur.execute(self._sql(sql), self._params(params))
            if cur.description is None:
                return []
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        with self._lock:
            cur = self._cursor()
            cur.execute(self._sql(sql), self._params(params))
            return cur.rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock:
            self._cursor().executemany(self._sql(sql), [self._params(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._begin()
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._rollback()
                raise
            self._depth = 0
            self._commit()

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- migrations -------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the migrations not applied yet; the schema version reached."""
        wanted = migrations(self.name)
        latest = wanted[-1].version
        try:
            current = self.value("SELECT MAX(version) AS v FROM schema_migrations") or 0
        except Exception:  # no table yet: a new database
            current = None
        if current is not None and current > latest:
            raise UserError(f"the archive was created by a newer voicebot (schema {current}, this one knows "
                            f"{latest}); upgrade voicebot")
        if current == latest:
            return latest
        with self.transaction():
            self._lock_for_migration()
            self.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                         "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            applied = {r["version"] for r in self.query("SELECT version FROM schema_migrations")}
            for migration in wanted:
                if migration.version not in applied:
                    self._run_script(migration.sql)
                    self.applied.append(migration.version)
                    self.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                 (migration.version, migration.name, _now()))
        return latest

    def _lock_for_migration(self) -> None:
        pass

    def _run_script(self, sql: str) -> None:
        raise NotImplementedError

    # -- what differs -----------------------------------------------------------
    def search_rows(self, query: Query, filters: Filters, limit: int) -> list[dict[str, Any]]:
        """Matching segments, best first: columns segment_id, meeting_id, start_time, end_time,
        speaker, text, title, started_at, score (higher is better)."""
        raise NotImplementedError

    def id_bounds(self, filters: Filters) -> tuple[int, int] | None:
        """The smallest and largest segment id the filters allow (segments of a meeting are stored
        together, so a meeting or a time range is a range of ids); None: no bound, or no segment."""
        if filters.meeting:
            sql, params = "SELECT ? AS meeting_id", [filters.meeting]
        elif filters.since or filters.until:
            sql, params = "SELECT m.id AS meeting_id FROM meetings m WHERE 1 = 1", []
            if filters.since:
                sql += " AND m.started_utc >= ?"
                params.append(filters.since)
            if filters.until:
                sql += " AND m.started_utc < ?"
                params.append(filters.until)
        else:
            return None
        row = self.one(
            "SELECT MIN((SELECT id FROM segments WHERE meeting_id = f.meeting_id ORDER BY position LIMIT 1)) AS lo, "
            "MAX((SELECT id FROM segments WHERE meeting_id = f.meeting_id ORDER BY position DESC LIMIT 1)) AS hi "
            f"FROM ({sql}) f", params)
        if not row or row["lo"] is None:
            return (1, 0)  # no segment can match
        return int(row["lo"]), int(row["hi"])

    def match_ids(self, query: Query) -> list[int]:
        """Every segment id matching the query, unranked and uncapped (for erasing)."""
        raise NotImplementedError

    def scrub(self, *, index: bool = True) -> list[str]:
        """After erasing: make sure no copy of erased text stays in the database's files
        (``index``: the full-text index too). Returns warnings (empty when all was scrubbed)."""
        raise NotImplementedError

    def check(self) -> list[str]:
        raise NotImplementedError

    def rebuild_index(self) -> None:
        """Rebuild the full-text index from the stored text."""
        raise NotImplementedError

    def size_bytes(self) -> int:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


# --- SQLite -------------------------------------------------------------------


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                        check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the archive {self.path}: {exc}; check VOICEBOT_HOME and its "
                            "permissions") from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise UserError(f"{self.path} is not a voicebot archive ({exc}); move it away or set "
                            "VOICEBOT_HOME to another folder") from None
        if mode.lower() != "wal":
            self.conn.close()
            raise UserError(f"cannot use write-ahead logging on {self.path} (journal mode {mode}); "
                            "put VOICEBOT_HOME on a local disk")

    def _cursor(self):
        return self.conn.cursor()

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def _run_script(self, sql: str) -> None:
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                self.conn.execute(statement)
                statement = ""
        if statement.strip() and not all(s.strip().startswith("--") or not s.strip()
                                         for s in statement.splitlines()):
            raise RuntimeError(f"incomplete SQL at the end of a migration: {statement[:80]!r}")

    def search_rows(self, query, filters, limit):
        match = to_fts5(query)
        where, params = filters.where()
        joins = ("JOIN segments s ON s.id = segments_fts.rowid JOIN meetings m ON m.id = s.meeting_id "
                 if filters else "")
        bounds, bound_params = "", []
        ids = self.id_bounds(filters)
        if ids:
            bounds, bound_params = "AND segments_fts.rowid BETWEEN ? AND ? ", list(ids)
        # Ranking calls bm25 on every match: for a very common word, rank only the most recent
        # rank_cap matches (finding where they start walks the index backwards, without ranking).
        cutoff = self.value(f"SELECT segments_fts.rowid AS r FROM segments_fts {joins}WHERE segments_fts MATCH ? "
                            f"{bounds}{where} ORDER BY segments_fts.rowid DESC LIMIT 1 OFFSET ?",
                            [match, *bound_params, *params, self.rank_cap - 1])
        if cutoff is not None:
            bounds += "AND segments_fts.rowid >= ? "
            bound_params.append(cutoff)
        # Rank on the index alone, then join the few rows shown.
        sql = (
            "WITH top AS (SELECT segments_fts.rowid AS id, bm25(segments_fts) AS rank FROM segments_fts "
            f"{joins}WHERE segments_fts MATCH ? {bounds}{where} ORDER BY rank LIMIT ?) "
            f"SELECT {_SEARCH_COLUMNS}, -top.rank AS score "
            "FROM top JOIN segments s ON s.id = top.id JOIN meetings m ON m.id = s.meeting_id "
            "ORDER BY top.rank, m.started_utc DESC, s.start_time"
        )
        return self.query(sql, [match, *bound_params, *params, limit])

    def match_ids(self, query):
        if query.empty:
            return []
        return [r["rowid"] for r in self.query("SELECT rowid FROM segments_fts WHERE segments_fts MATCH ?",
                                                (to_fts5(query),))]

    def scrub(self, *, index: bool = True) -> list[str]:
        warnings = []
        if index:
            with self.transaction():
                # Rewrite the whole index into one new segment: deleted rows' terms leave the old
                # segment blobs, which secure_delete then zeroes.
                self.conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('optimize')")
        busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            warnings.append("another program is reading the archive, so its write-ahead log could not be "
                            "emptied yet; erased text stays in voicebot.db-wal until that program closes it")
        return warnings

    def check(self) -> list[str]:
        problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        for row in self.conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign key: {row[0]} row {row[1]} points to a missing {row[2]}")
        try:
            self.conn.execute("INSERT INTO segments_fts (segments_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            problems.append(f"full-text index: {exc} (rebuild it with `voicebot meetings reindex`)")
        return problems

    def rebuild_index(self) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('rebuild')")

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} at {self.path}"


# --- PostgreSQL ---------------------------------------------------------------

PG_CONFIGS = ("voicebot_french", "voicebot_english")


def redact_url(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user@host/db (for messages)."""
    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1@", url)


class PostgresBackend(Backend):
    name = "postgres"
    placeholder = "%s"
    rank_cap = 2_500  # ts_rank_cd costs a few microseconds a row

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        super().__init__()
        import psycopg

        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=int(timeout))
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"cannot connect to PostgreSQL at {redact_url(url)}: {reason}; check "
                            "VOICEBOT_DATABASE_URL and that the server is running") from None
        self._sql_cache: dict[str, str] = {}

    def _sql(self, sql: str) -> str:
        cached = self._sql_cache.get(sql)
        if cached is None:
            cached = self._sql_cache[sql] = sql.replace("%", "%%").replace("?", "%s")
        return cached

    def _cursor(self):
        return self.conn.cursor()

    def _params(self, params: Sequence[Any]) -> tuple[Any, ...]:
        values = tuple(params)
        if any(isinstance(v, str) and "\x00" in v for v in values):  # PostgreSQL text cannot hold NUL
            raise UserError("text with a NUL character (\\x00) cannot be stored or looked up")
        return values

    def _begin(self) -> None:
        self.conn.execute("BEGIN")

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        import psycopg

        try:
            self.conn.execute("ROLLBACK")
        except psycopg.Error:
            pass

    def close(self) -> None:
        self.conn.close()

    def _lock_for_migration(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (0x766F6963,))  # "voic"

    def _run_script(self, sql: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql)  # no parameters: several statements are allowed

    def search_rows(self, query, filters, limit):
        tsquery, params = pg_tsquery(query)
        where, where_params = filters.where()
        joins = "JOIN meetings m ON m.id = s.meeting_id " if filters else ""
        bounds, bound_params = "", []
        ids = self.id_bounds(filters)
        if ids:
            bounds, bound_params = "AND s.id BETWEEN ? AND ? ", list(ids)
        # As on SQLite: rank the most recent rank_cap matches at most, then join the rows shown.
        # The tsquery is written out (not a CTE) so the planner sees the words and can choose
        # between the GIN index and a backwards scan of the ids.
        sql = (
            f"WITH recent AS (SELECT s.id FROM segments s {joins}WHERE s.tsv @@ ({tsquery}) {bounds}{where} "
            "ORDER BY s.id DESC LIMIT ?), "
            f"top AS (SELECT s.id, ts_rank_cd(s.tsv, {tsquery}) AS score FROM recent JOIN segments s ON s.id = recent.id "
            "ORDER BY score DESC LIMIT ?) "
            f"SELECT {_SEARCH_COLUMNS}, top.score "
            "FROM top JOIN segments s ON s.id = top.id JOIN meetings m ON m.id = s.meeting_id "
            "ORDER BY top.score DESC, m.started_utc DESC, s.start_time"
        )
        return self.query(sql, [*params, *bound_params, *where_params, self.rank_cap, *params, limit])

    def match_ids(self, query):
        if query.empty:
            return []
        tsquery, params = pg_tsquery(query)
        return [r["id"] for r in self.query(f"SELECT id FROM segments WHERE tsv @@ ({tsquery})", params)]

    def scrub(self, *, index: bool = True) -> list[str]:
        # VACUUM FULL rewrites the tables (and their indexes), so deleted rows do not linger in
        # free space of the heap files; PostgreSQL's own write-ahead log is recycled by the server.
        tables = ("segments", "passages", "minutes", "outbox", "people", "voiceprint_log", "meetings", "meeting_people",
                  "incidents") if index else ("people", "voiceprint_log")
        for table in tables:
            self.execute(f"VACUUM FULL {table}")
        return []

    def check(self) -> list[str]:
        problems = []
        rows = self.query("SELECT cfgname FROM pg_ts_config WHERE cfgname IN (?, ?)", PG_CONFIGS)
        if len(rows) != 2:
            problems.append("text search configurations voicebot_french/voicebot_english are missing")
        orphans = self.value("SELECT count(*) AS n FROM segments s LEFT JOIN meetings m ON m.id = s.meeting_id "
                             "WHERE m.id IS NULL")
        if orphans:
            problems.append(f"{orphans} segments belong to no meeting")
        return problems

    def rebuild_index(self) -> None:
        self.execute("REINDEX INDEX segments_tsv")

    def size_bytes(self) -> int:
        return int(self.value("SELECT pg_database_size(current_database()) AS n") or 0)

    def describe(self) -> str:
        version = self.value("SHOW server_version")
        return f"PostgreSQL {version} at {redact_url(self.url)}"


def pg_tsquery(query: Query) -> tuple[str, list[Any]]:
    """A tsquery expression (SQL text with placeholders) and its parameters.

    Each term is searched with both configurations (French and English stems,
    accents removed); the user's words are only ever bound as parameters, built
    from letters and digits (see query.tokenize), so they cannot be read as
    tsquery operators."""
    params: list[Any] = []

    def term(t) -> str:
        # A word matches if either language's stem does (recall); a phrase must match as a phrase
        # under both analyses of the text (each one drops its own stop words, so OR would let
        # "le budget" match any "budget").
        text = " <-> ".join(t.tokens) + (":*" if t.prefix else "")
        parts = []
        for config in PG_CONFIGS:
            parts.append(f"to_tsquery('{config}', ?)")
            params.append(text)
        return "(" + (" && " if t.is_phrase else " || ").join(parts) + ")"

    def group(terms) -> str:
        return "(" + " || ".join(term(t) for t in terms) + ")"

    if query.empty:
        return "''::tsquery", params
    expression = " && ".join(group(g) for g in query.groups)
    if query.excluded:
        expression = f"({expression}) && !!{group(query.excluded)}"
    return expression, params
