-- Who may see what (issue 17).
-- Web users get an email address (it links them to the meetings they were invited to or spoke
-- in), a role (admin sees everything, member only their meetings) and a mark when disabled.
-- Logins are server-side records (browser sessions and API tokens), so logging out, a new
-- password or a disabled user ends them. Meetings get the web user who recorded or uploaded
-- them (owner), the hash of their audio (the same recording processed again is recognised),
-- the users they are shared with, and the people they concern (invitee addresses, folded
-- speaker names) for the access filter. Every voiceprint change is logged (and can be undone).
-- An outbox message remembers which minutes it carries, so nobody gets the same minutes twice.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE users ADD COLUMN disabled_at TEXT;

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,       -- sha256 of the secret the browser or script holds
    user_name     TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- session | token
    label         TEXT NOT NULL DEFAULT '',
    print         TEXT NOT NULL,          -- fingerprint of the user's password when it was made
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX sessions_user ON sessions (user_name, kind);

ALTER TABLE meetings ADD COLUMN owner TEXT;
ALTER TABLE meetings ADD COLUMN audio_sha256 TEXT;
CREATE INDEX meetings_owner ON meetings (owner);
CREATE INDEX meetings_audio ON meetings (audio_sha256);

CREATE TABLE meeting_shares (
    meeting_id  TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_name   TEXT NOT NULL,
    shared_by   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (meeting_id, user_name)
);
CREATE INDEX meeting_shares_user ON meeting_shares (user_name);

CREATE TABLE meeting_people (
    meeting_id  TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,            -- email: an invitee's address (lower case); speaker: a folded name
    ref         TEXT NOT NULL,
    PRIMARY KEY (meeting_id, kind, ref)
);
CREATE INDEX meeting_people_ref ON meeting_people (kind, ref);

CREATE TABLE voiceprint_log (
    id              INTEGER PRIMARY KEY,
    name_key        TEXT NOT NULL,
    name            TEXT NOT NULL,
    old_voiceprint  BLOB,
    old_dim         INTEGER,
    new_voiceprint  BLOB,
    new_dim         INTEGER,
    changed_by      TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    undone_at       TEXT
);
CREATE INDEX voiceprint_log_person ON voiceprint_log (name_key);

ALTER TABLE outbox ADD COLUMN content_key TEXT;
CREATE UNIQUE INDEX outbox_content ON outbox (content_key);
