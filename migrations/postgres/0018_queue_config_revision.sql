-- As SQLite's 0032_queue_config_revision.sql.
-- The center's configuration revision (issue #18): the queue's memory keeps a center's windows
-- and queue categories across batches (server::service::day_queue), and the kiosk's slip the
-- center's name and categories, trusted only while this counter, on the row every queue unit
-- updates first, is the one they were read at. Every insert, update and delete of a window or a
-- category, and every change of the center's row, bumps it from a trigger, so no writer can
-- forget it: the admin commands, the roster, a seed, `bianmin migrate`, a hand-written statement.
--
-- Read committed: the trigger's UPDATE locks the center's queue_revision row until the writing
-- transaction ends. A queue unit's first statement updates that row too, so it waits for such a
-- transaction and then sees its config_rev (PostgreSQL re-reads the row's committed version);
-- and while a queue unit holds the row, a change of that center's windows or categories waits
-- for its commit. Every center has its queue_revision row (seeded with it; 0008 gave one to the
-- center already there); an old database starts at 0, which a memory that read nothing yet
-- never holds.
ALTER TABLE queue_revision ADD COLUMN config_rev BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION queue_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE queue_revision SET config_rev = config_rev + 1;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = OLD.center_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.center_id IS DISTINCT FROM OLD.center_id) THEN
        UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = NEW.center_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER windows_config_changed AFTER INSERT OR UPDATE OR DELETE ON windows
    FOR EACH ROW EXECUTE FUNCTION queue_config_changed();
CREATE TRIGGER windows_config_truncated AFTER TRUNCATE ON windows
    FOR EACH STATEMENT EXECUTE FUNCTION queue_config_changed();
CREATE TRIGGER queue_categories_config_changed AFTER INSERT OR UPDATE OR DELETE ON queue_categories
    FOR EACH ROW EXECUTE FUNCTION queue_config_changed();
CREATE TRIGGER queue_categories_config_truncated AFTER TRUNCATE ON queue_categories
    FOR EACH STATEMENT EXECUTE FUNCTION queue_config_changed();

CREATE FUNCTION center_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE queue_revision SET config_rev = config_rev + 1;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = NEW.id;
        RETURN NULL;
    END IF;
    UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = OLD.id;
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        UPDATE queue_revision SET config_rev = config_rev + 1 WHERE center_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER center_config_changed AFTER INSERT OR UPDATE OR DELETE ON center
    FOR EACH ROW EXECUTE FUNCTION center_config_changed();
