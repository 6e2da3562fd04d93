-- +goose Up
-- A rescore first reads every event once, in the order they are stored, then writes
-- each contact's score: phase says which, and events_done of events_total how far the
-- reading is.
ALTER TABLE rescores ADD COLUMN phase TEXT NOT NULL DEFAULT '';
ALTER TABLE rescores ADD COLUMN events_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rescores ADD COLUMN events_total BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE rescores DROP COLUMN events_total;
ALTER TABLE rescores DROP COLUMN events_done;
ALTER TABLE rescores DROP COLUMN phase;
