-- +goose Up
-- carried lists the scored_version labels whose contacts hold the scores this version
-- gives them: its rescore found them unchanged and left their rows alone. At most one
-- version, the one whose rescore ended last, has a list (see carried.go).
ALTER TABLE agreements ADD COLUMN carried TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE agreements DROP COLUMN carried;
