-- Service incidents (issue 20, service continuity): the broker unreachable, or no worker answering while
-- jobs wait. kind is 'meeting' for a stage that gave up (as before), else the service's part ('broker',
-- 'workers'); a service incident is open until resolved_at. At most one open incident per service kind:
-- several processes checking at once open it once (the insert of the others does nothing).
ALTER TABLE incidents ADD COLUMN kind TEXT NOT NULL DEFAULT 'meeting';
ALTER TABLE incidents ADD COLUMN resolved_at TEXT;
CREATE UNIQUE INDEX incidents_open_service ON incidents (kind) WHERE resolved_at IS NULL AND kind <> 'meeting';
