-- The day a rating counts for (its ticket's day, as the server decided it when the rating came
-- in; domain::rating::Rating::day), kept apart from rated_at (the server's time of arrival): a
-- rating given offline before midnight and uploaded after counts for the day before, in the
-- day's and the month's figures and in the report. Ratings stored before this migration were
-- taken the day they were rated: their day is rated_at's, China time (UTC+8, no DST), as
-- Rating::day reads a body without one.
ALTER TABLE ratings ADD COLUMN day TEXT;
UPDATE ratings SET day = date(rated_at + 8 * 3600, 'unixepoch');
CREATE INDEX ratings_by_day ON ratings(center_id, day);
