-- +goose Up
-- The score record keeps, for each contact, which engagement rules counted which of its
-- events and when: a rescore that must weigh every event again (a changed half-life)
-- replays it instead of reading the events (see record.go). It is written by a rescore
-- that reads every event, as one generation; score_record_gen says which generation
-- holds, under which rules, and up to which event.
CREATE TABLE score_records (
    contact_id INTEGER PRIMARY KEY,
    gen BIGINT NOT NULL,
    hits BLOB NOT NULL
);
-- Contacts whose events changed other than by new ones (a merge, a visitor's events
-- joining them, a recycle) since the generation began: their records do not hold.
CREATE TABLE score_record_stale (
    contact_id INTEGER PRIMARY KEY
);
CREATE TABLE score_record_gen (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    gen BIGINT NOT NULL,
    upto BIGINT NOT NULL,
    rules TEXT NOT NULL,
    state TEXT NOT NULL
);
INSERT INTO score_record_gen (one, gen, upto, rules, state) VALUES (1, 0, 0, '', 'none');

-- +goose Down
DROP TABLE score_record_gen;
DROP TABLE score_record_stale;
DROP TABLE score_records;
