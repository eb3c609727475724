-- Accounts: failed sign-ins for rate limiting, and the audit trail. Times are Unix seconds (UTC).

-- Failed sign-ins, per account (the staff id as typed) and per client address. Only the rate
-- limit's window is kept: older rows are deleted whenever a new one is written.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    staff_id TEXT NOT NULL,
    addr TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_by_staff ON login_failures(staff_id, at);
CREATE INDEX login_failures_by_addr ON login_failures(addr, at);

-- Who did what to which ticket, case, handover, account or window, when, and from which window.
-- Never personal data: ids and action names only.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    staff_id TEXT NOT NULL,
    window_no INTEGER,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    -- Client address, for sign-ins.
    addr TEXT
);
CREATE INDEX audit_by_target ON audit(target_kind, target_id);
CREATE INDEX audit_by_staff ON audit(staff_id, id);

-- Revoking every session of a staff member.
CREATE INDEX sessions_by_staff ON sessions(staff_id);
