-- +goose Up
-- agreements are the versions of the common terms; version is the id users see.
CREATE TABLE agreements (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('yaml', 'json')),
    status TEXT NOT NULL CHECK (status IN ('proposed', 'active', 'superseded')),
    proposed_by TEXT NOT NULL,
    proposed_role TEXT NOT NULL,
    proposed_at INTEGER NOT NULL,
    approved_by TEXT,
    approved_role TEXT,
    approved_at INTEGER,
    activated_at INTEGER,
    -- anchor_at is T₀ of the version's anchored engagement sums, set on activation and
    -- moved forward when the sums grow large.
    anchor_at INTEGER
);
CREATE UNIQUE INDEX agreements_one_active ON agreements (status) WHERE status = 'active';

-- A contact's score under the version it was scored with: score_eng is the anchored
-- engagement sum, so ordering by it orders by current engagement.
ALTER TABLE contacts ADD COLUMN score_fit REAL NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN score_eng REAL NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN grade TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN stage TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN funnel_stage TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN stage_at INTEGER;
ALTER TABLE contacts ADD COLUMN scored_version INTEGER NOT NULL DEFAULT 0;
-- score_caps holds the state of the capped engagement rules: how often each fired in its
-- current window, and what it gave.
ALTER TABLE contacts ADD COLUMN score_caps TEXT NOT NULL DEFAULT '{}';
CREATE INDEX contacts_stage_engagement ON contacts (stage, score_eng, id);

CREATE TABLE stage_changes (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    at INTEGER NOT NULL,
    cause TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX stage_changes_contact ON stage_changes (contact_id, at);
CREATE INDEX stage_changes_to ON stage_changes (to_stage, at);

-- rescores track rescoring every contact under a newly active version. A process
-- works on one while it holds the lease, so two servers never rescore at once.
CREATE TABLE rescores (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'canceled')),
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    cursor INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    lease_until INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE rescores;
DROP TABLE stage_changes;
DROP INDEX contacts_stage_engagement;
ALTER TABLE contacts DROP COLUMN score_caps;
ALTER TABLE contacts DROP COLUMN scored_version;
ALTER TABLE contacts DROP COLUMN stage_at;
ALTER TABLE contacts DROP COLUMN funnel_stage;
ALTER TABLE contacts DROP COLUMN stage;
ALTER TABLE contacts DROP COLUMN grade;
ALTER TABLE contacts DROP COLUMN score_eng;
ALTER TABLE contacts DROP COLUMN score_fit;
DROP TABLE agreements;
