-- Write new segments straight into the GIN index instead of its "pending list": that list
-- (up to 4 MB) is scanned in full by every search until a vacuum flushes it, which made
-- searches after recent inserts several times slower. Inserts pay a little more instead.
ALTER INDEX segments_tsv SET (fastupdate = off);
SELECT gin_clean_pending_list('segments_tsv'::regclass);
