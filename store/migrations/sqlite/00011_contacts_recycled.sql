-- +goose Up
-- The few contacts sales sent back: ingest and rescores look them up, and most stores
-- have none, which this finds without reading every contact.
CREATE INDEX contacts_recycled ON contacts (id, engaged_since) WHERE engaged_since IS NOT NULL;

-- +goose Down
DROP INDEX contacts_recycled;
