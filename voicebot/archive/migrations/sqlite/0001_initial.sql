-- voicebot archive, SQLite: every table of the Archive API.
-- Times are ISO 8601 UTC text ("2026-11-24T09:30:12+00:00") or seconds (REAL).

CREATE TABLE meetings (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL DEFAULT '',
    started_at    TEXT NOT NULL,          -- as recorded, with its timezone
    started_utc   TEXT NOT NULL,          -- the same instant in UTC, for sorting and filters
    ended_at      TEXT,
    duration      REAL,
    language      TEXT,
    status        TEXT NOT NULL DEFAULT 'recording',
    directory     TEXT,
    meeting_json  TEXT NOT NULL,          -- schema.Meeting.to_dict()
    speakers      TEXT NOT NULL DEFAULT '[]',
    engine        TEXT,
    model         TEXT,
    transcribed_at TEXT,
    purged_at     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX meetings_started ON meetings (started_utc);

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    meeting_id  TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    start_time  REAL NOT NULL,
    end_time    REAL NOT NULL,
    speaker     TEXT,
    language    TEXT,
    text        TEXT NOT NULL,
    words       TEXT                      -- compact JSON [[start, end, word, probability], ...]
);
CREATE INDEX segments_meeting ON segments (meeting_id, position);
CREATE INDEX segments_speaker ON segments (speaker);

-- External-content FTS5 index: the text lives once, in segments; the triggers
-- keep the index in step (the 'delete' command removes a row's terms).
CREATE VIRTUAL TABLE segments_fts USING fts5 (
    text,
    content = 'segments',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO segments_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE people (
    name_key        TEXT PRIMARY KEY,     -- case- and accent-folded name
    name            TEXT NOT NULL,
    email           TEXT,
    voiceprint      BLOB,                 -- float32, little endian
    voiceprint_dim  INTEGER,
    source          TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE minutes (
    meeting_id    TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    minutes_json  TEXT NOT NULL,
    markdown      TEXT NOT NULL,
    engine        TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (meeting_id, version)
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    meeting_id       TEXT,                -- NULL for admin alerts
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    message_id       TEXT NOT NULL UNIQUE,
    subject          TEXT NOT NULL DEFAULT '',
    raw              BLOB NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_meeting ON outbox (meeting_id);

CREATE TABLE jobs (
    meeting_id  TEXT NOT NULL,
    stage       TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (meeting_id, stage)
);
CREATE INDEX jobs_state ON jobs (state);

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    meeting_id  TEXT,
    stage       TEXT NOT NULL,
    error       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX incidents_meeting ON incidents (meeting_id);

CREATE TABLE users (
    name           TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
