-- +goose Up
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    write_key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'marketing', 'sales')),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    domain TEXT UNIQUE,
    group_id TEXT UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    traits TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- AUTOINCREMENT: a merged contact's id keeps pointing at the survivor through
-- contact_merges, so it must never be handed out again, as SQLite would otherwise do
-- with the largest id once its row is gone.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT,
    traits TEXT NOT NULL DEFAULT '{}',
    account_id INTEGER REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX contacts_email ON contacts (email);
CREATE INDEX contacts_account ON contacts (account_id);

-- identities map a user id or an email address to the one contact it names.
CREATE TABLE identities (
    kind TEXT NOT NULL CHECK (kind IN ('user', 'email')),
    value TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_contact ON identities (contact_id);

-- visitors are anonymous profiles: a browser or device known only by its anonymousId.
CREATE TABLE visitors (
    id INTEGER PRIMARY KEY,
    anonymous_id TEXT NOT NULL UNIQUE,
    contact_id INTEGER REFERENCES contacts (id),
    account_id INTEGER REFERENCES accounts (id),
    traits TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX visitors_contact ON visitors (contact_id);

-- contact_merges lets a merged contact's old id still find the survivor.
CREATE TABLE contact_merges (
    from_id INTEGER PRIMARY KEY,
    into_id INTEGER NOT NULL,
    merged_at INTEGER NOT NULL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    anonymous_id TEXT NOT NULL DEFAULT '',
    contact_id INTEGER,
    visitor_id INTEGER,
    properties TEXT NOT NULL DEFAULT '{}',
    context TEXT NOT NULL DEFAULT '{}',
    timestamp INTEGER NOT NULL,
    client_ts INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL
);
-- A retry repeats a message's id and its client timestamp. Leading with the timestamp
-- keeps the index in time order: a commit's new entries share a few pages at its end,
-- where a random id alone would touch a page of the index for every event.
CREATE UNIQUE INDEX events_message ON events (source_id, client_ts, message_id);
CREATE INDEX events_contact ON events (contact_id, timestamp) WHERE contact_id IS NOT NULL;
CREATE INDEX events_visitor_unknown ON events (visitor_id) WHERE contact_id IS NULL;

-- +goose Down
DROP TABLE events;
DROP TABLE contact_merges;
DROP TABLE visitors;
DROP TABLE identities;
DROP TABLE contacts;
DROP TABLE accounts;
DROP TABLE tokens;
DROP TABLE sources;
