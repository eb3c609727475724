-- Each ticket row carries the queue revision of the command that last wrote it (issue #18, the
-- queue's speed). A process whose day in memory is at revision R while the store is further on
-- (another process, or another store on the same file, committed since) reads only the rows with
-- rev > R instead of the whole day (server::service::day_queue). Rows written before this
-- migration keep 0: they are read by a full load only, which every process does first.
ALTER TABLE queue_tickets ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX queue_tickets_by_rev ON queue_tickets(center_id, day, rev);
