-- Ask your meetings (issue 21): the semantic index beside the full-text one.
-- A passage is a window of consecutive segments of one meeting (segment ids first..last: a
-- meeting's segments have consecutive ids); its text is read from the segments, never copied,
-- and its vector (a float32 scale then 512 int8, voicebot/embedding.py) comes from a sentence-embedding
-- model (model names it).
-- Vectors are personal data: a passage goes with any of its segments (deleted: the foreign
-- keys; text changed, as forget_person redacts a name: the trigger), and the archive embeds
-- the meeting again.
CREATE TABLE passages (
    id             INTEGER PRIMARY KEY,
    meeting_id     TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    first_segment  INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    last_segment   INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    start_time     REAL NOT NULL,
    end_time       REAL NOT NULL,
    model          TEXT NOT NULL,
    vector         BLOB NOT NULL
);
CREATE INDEX passages_meeting ON passages (meeting_id);
CREATE INDEX passages_first ON passages (first_segment);
CREATE INDEX passages_last ON passages (last_segment);
CREATE TRIGGER passages_stale AFTER UPDATE OF text ON segments BEGIN
    DELETE FROM passages WHERE meeting_id = old.meeting_id AND old.id BETWEEN first_segment AND last_segment;
END;
