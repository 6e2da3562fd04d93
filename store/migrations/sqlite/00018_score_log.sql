-- +goose Up
-- score_log holds score columns that ingest computed but has not yet written to their
-- contacts: appending a line per contact costs a commit far fewer pages than updating
-- rows spread over the contacts table. Lines are applied to contacts, latest per
-- contact, within a second, and before any other transaction writes (see scorelog.go).
CREATE TABLE score_log (
    seq INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    score_fit REAL NOT NULL,
    score_eng REAL NOT NULL,
    grade TEXT NOT NULL,
    stage TEXT NOT NULL,
    funnel_stage TEXT NOT NULL,
    stage_at INTEGER,
    staged INTEGER NOT NULL,
    scored_version INTEGER NOT NULL,
    score_caps TEXT NOT NULL
);

-- +goose Down
DROP TABLE score_log;
