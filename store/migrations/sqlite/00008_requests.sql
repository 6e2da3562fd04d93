-- +goose Up
-- requests are what sales asks of marketing, with the agreement's turnaround for their
-- type running in business time from when they were filed.
CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('new', 'triaged', 'declined', 'in_progress', 'delivered', 'confirmed')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    requester TEXT NOT NULL,
    assignee TEXT NOT NULL DEFAULT '',
    account_id INTEGER,
    opportunity TEXT NOT NULL DEFAULT '',
    accounts TEXT NOT NULL DEFAULT '[]',
    links TEXT NOT NULL DEFAULT '[]',
    due_asked INTEGER,
    due_at INTEGER,
    committed_at INTEGER,
    decline_reason TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    triaged_at INTEGER,
    delivered_at INTEGER,
    confirmed_at INTEGER,
    reopened INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_status ON requests (status, due_at, id);
CREATE INDEX requests_created ON requests (created_at);

-- request_changes record every transition with who and when; request_comments the
-- conversation; request_watchers who hears of changes.
CREATE TABLE request_changes (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    at INTEGER NOT NULL,
    by_name TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_changes_request ON request_changes (request_id, id);
CREATE TABLE request_comments (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    at INTEGER NOT NULL,
    by_name TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX request_comments_request ON request_comments (request_id, id);
CREATE TABLE request_watchers (
    request_id INTEGER NOT NULL REFERENCES requests (id),
    email TEXT NOT NULL,
    PRIMARY KEY (request_id, email)
);

-- +goose Down
DROP TABLE request_watchers;
DROP TABLE request_comments;
DROP TABLE request_changes;
DROP TABLE requests;
