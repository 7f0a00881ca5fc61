-- Each incident keeps a timeline (issue 20): what happened to it, in order (opened, the admins told by mail
-- or webhook, over), and a short note an admin writes afterwards (what caused it, what was done). The events
-- go with their incident (a meeting's incidents are erased with the meeting).
ALTER TABLE incidents ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN note_by TEXT;
ALTER TABLE incidents ADD COLUMN note_at TEXT;
CREATE TABLE incident_events (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    event        TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
