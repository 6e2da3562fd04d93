-- +goose Up
-- engaged_since is when a recycled contact's engagement started again from zero: a lead
-- sales rejected must earn the handoff anew. Rescoring counts no event before it.
ALTER TABLE contacts ADD COLUMN engaged_since INTEGER;

-- users are the people of both teams. Reps are the sales users that routing names by
-- email, as the agreement's teams do.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    team TEXT NOT NULL CHECK (team IN ('marketing', 'sales')),
    role TEXT NOT NULL CHECK (role IN ('member', 'manager', 'admin')),
    -- manager is the email of whom an escalation goes to; empty for none.
    manager TEXT NOT NULL DEFAULT '',
    -- daily_cap is the most leads routing gives the user per day; 0 for no cap.
    daily_cap INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- away holds out-of-office windows: routing skips a user while one is open.
CREATE TABLE away (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    CHECK (starts_at < ends_at)
);
CREATE INDEX away_user ON away (user_id, ends_at);

-- rotations hold each team's round-robin state (routing.Rotation as JSON). A handoff
-- locks them, so no two nodes give away the same turn.
CREATE TABLE rotations (
    team TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);

-- assignments are leads handed to reps. An open one (assigned or accepted) is the
-- contact's current owner; one contact has at most one open assignment.
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    rep TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unassigned', 'assigned', 'accepted', 'qualified', 'rejected', 'reassigned')),
    route TEXT NOT NULL,
    reason TEXT NOT NULL,
    skipped TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL,
    assigned_at INTEGER NOT NULL,
    -- accept_due_at is when the rep must have accepted or rejected; touch_due_at when
    -- they must have first touched the lead. due_at is the next deadline still running,
    -- by which a rep's queue is sorted; NULL once none is.
    accept_due_at INTEGER,
    touch_due_at INTEGER,
    due_at INTEGER,
    accepted_at INTEGER,
    rejected_at INTEGER,
    reject_reason TEXT NOT NULL DEFAULT '',
    qualified_at INTEGER,
    first_touch_at INTEGER,
    breached_at INTEGER,
    escalated_to TEXT NOT NULL DEFAULT '',
    closed_at INTEGER,
    -- previous_id is the assignment this one took over from after a breach.
    previous_id INTEGER,
    acted_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX assignments_open ON assignments (contact_id) WHERE status IN ('unassigned', 'assigned', 'accepted');
CREATE INDEX assignments_rep_due ON assignments (rep, due_at, id);
CREATE INDEX assignments_assigned_at ON assignments (assigned_at);
CREATE INDEX assignments_contact ON assignments (contact_id, id);

-- touches are a rep's calls, emails and meetings with a lead.
CREATE TABLE touches (
    id INTEGER PRIMARY KEY,
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    kind TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting')),
    at INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX touches_assignment ON touches (assignment_id, at);

-- jobs are durable timers and deliveries, enqueued in the transaction that causes
-- them. A node claims a due job by leasing it; a job whose lease ran out (its node
-- died) is claimed again, and its work commits together with marking it done.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'canceled')),
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    -- ref ties a job to what it acts on (an assignment), so acting on it can cancel it.
    ref INTEGER,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_ref ON jobs (ref) WHERE state = 'pending';

-- channels are where notifications go: a signed webhook, a Slack-compatible incoming
-- webhook, or email.
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    name TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    -- secret signs webhook requests; it must be readable to sign, as the spec has it.
    secret TEXT NOT NULL DEFAULT '',
    recipients TEXT NOT NULL DEFAULT '[]',
    events TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

-- notifications are the events people are told about, one row each, whatever the
-- channels; deliveries log every attempt to send one over a channel.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    assignment_id INTEGER,
    payload TEXT NOT NULL
);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    response TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    next_at INTEGER
);
CREATE INDEX deliveries_channel ON deliveries (channel_id, id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE notifications;
DROP TABLE channels;
DROP TABLE jobs;
DROP TABLE touches;
DROP TABLE assignments;
DROP TABLE rotations;
DROP TABLE away;
DROP TABLE users;
ALTER TABLE contacts DROP COLUMN engaged_since;
