-- Which staff had a session on which device: a record another clerk wrote earlier on a shared PC
-- keeps its author only if that author was signed in on that device (issue 12).
CREATE TABLE device_staff (
    device TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (device, staff_id)
);
