-- A prefix index for 4 letters as well: "budg*", "proj*" are the usual prefix searches, and
-- without an index of their own FTS5 merges every matching word's postings on each query.
DROP TABLE segments_fts;
CREATE VIRTUAL TABLE segments_fts USING fts5 (
    text,
    content = 'segments',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);
INSERT INTO segments_fts (segments_fts) VALUES ('rebuild');
