-- The center's configuration revision (issue #18): the queue's memory keeps a center's windows
-- and queue categories across batches (server::service::day_queue), and the kiosk's slip the
-- center's name and categories, trusted only while this counter, on the row every queue unit
-- updates first, is the one they were read at. Every insert, update and delete of a window or a
-- category, and every change of the center's row, bumps it from a trigger, so no writer can
-- forget it: the admin commands, the roster, a seed, a hand-written statement.
--
-- SQLite has one writer at a time: a unit of the queue that updated queue_revision holds the
-- write lock until it ends, so no change of a window or category commits between its reads.
-- Every center has its queue_revision row (seeded with it; 0025 gave one to the center already
-- there); an old database starts at 0, which a memory that read nothing yet never holds.
ALTER TABLE queue_revision ADD COLUMN config_rev INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER windows_config_inserted AFTER INSERT ON windows BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = NEW.center_id;
END;
CREATE TRIGGER windows_config_updated AFTER UPDATE ON windows BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id IN (OLD.center_id, NEW.center_id);
END;
CREATE TRIGGER windows_config_deleted AFTER DELETE ON windows BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = OLD.center_id;
END;

CREATE TRIGGER queue_categories_config_inserted AFTER INSERT ON queue_categories BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = NEW.center_id;
END;
CREATE TRIGGER queue_categories_config_updated AFTER UPDATE ON queue_categories BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id IN (OLD.center_id, NEW.center_id);
END;
CREATE TRIGGER queue_categories_config_deleted AFTER DELETE ON queue_categories BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = OLD.center_id;
END;

-- Inserted too: `INSERT OR REPLACE` replaces a row without firing the delete trigger (SQLite's
-- recursive_triggers is off).
CREATE TRIGGER center_config_inserted AFTER INSERT ON center BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = NEW.id;
END;
CREATE TRIGGER center_config_updated AFTER UPDATE ON center BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER center_config_deleted AFTER DELETE ON center BEGIN
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = OLD.id;
END;
