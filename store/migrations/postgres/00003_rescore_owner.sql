-- +goose Up
-- owner names the process holding a rescore's lease, so that one whose lease lapsed
-- (stalled past it) cannot write batches over the one that took the rescore over.
ALTER TABLE rescores ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE rescores DROP COLUMN owner;
