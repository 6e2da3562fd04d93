-- +goose Up
-- events_upto is the last event stored when the rescore began: what ingest counted under
-- the version before. A rescore that counts a changed rule again takes the rule's old
-- points out of those events only. 0 in rescores begun before it was kept.
ALTER TABLE rescores ADD COLUMN events_upto INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE rescores DROP COLUMN events_upto;
